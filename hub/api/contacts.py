"""Contacts API: upsert, read and erase one contact; bulk upsert; consents; preferences.

Contacts are shared by the whole company, so access is by scope (SPEC §4), never by which key
made them: ``contacts:read`` to read, ``contacts:write`` to change, ``contacts:erase`` to erase.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.services import Actor
from hub.api.contact_serializers import (
    BulkResultSerializer,
    ConsentCreateSerializer,
    ConsentEntrySerializer,
    ContactBulkSerializer,
    ContactSerializer,
    ContactWriteSerializer,
    ErasureSerializer,
    PreferencesSerializer,
    PreferencesUpdateSerializer,
)
from hub.api.problems import Problem
from hub.api.schema import problems
from hub.api.views import request_api_key
from hub.contacts.models import Contact
from hub.contacts.preferences import preferences_get, preferences_set
from hub.contacts.services import consent_record
from hub.contacts.sync import contacts_upsert
from hub.erasure import contact_erase


def _actor(request: Request) -> Actor:
    return Actor.api_key(request_api_key(request).pk)


def _contact(external_id: str) -> Contact:
    contact = Contact.objects.prefetch_related("devices").filter(external_id=external_id).first()
    if contact is None:
        raise Problem(
            status_code=404,
            code="not_found",
            title="Not found",
            detail=f"There is no contact with external_id '{external_id}'.",
        )
    return contact


def _preferences_body(contact: Contact) -> dict[str, Any]:
    return {"preferences": [vars(p) for p in preferences_get(contact=contact)]}


def _evidence(request: Request, given: dict[str, Any] | None) -> dict[str, Any]:
    evidence = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in (given or {}).items()}
    evidence.setdefault("api_key", request_api_key(request).pk)
    return evidence


READ = "contacts:read"
WRITE = "contacts:write"
ERASE = "contacts:erase"


def _needs(scope: str) -> str:
    return f"Needs the `{scope}` scope."


class ContactDetailView(APIView):
    required_capability = {"GET": READ, "PUT": WRITE, "DELETE": ERASE}

    @extend_schema(
        operation_id="contacts_retrieve",
        responses={200: ContactSerializer, **problems(401, 403, 404, 429)},
        summary="One contact",
        description="Devices show only their id, kind and when they were added, never their "
        f"tokens or keys. {_needs(READ)}",
    )
    def get(self, request: Request, external_id: str) -> Response:
        return Response(ContactSerializer(_contact(external_id)).data)

    @extend_schema(
        operation_id="contacts_upsert",
        request=ContactWriteSerializer,
        responses={200: ContactSerializer, 201: ContactSerializer, **problems(400, 401, 403, 415, 429)},
        summary="Create or replace a contact",
        description=_needs(WRITE),
    )
    def put(self, request: Request, external_id: str) -> Response:
        if len(external_id) > 128:
            raise Problem(
                status_code=400,
                code="invalid_request",
                title="Invalid request",
                detail="external_id is at most 128 characters.",
                field="external_id",
            )
        serializer = ContactWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        item = serializer.to_contact_data(external_id, serializer.validated_data)
        report = contacts_upsert(items=[item], actor=_actor(request))
        code = status.HTTP_201_CREATED if report.created else status.HTTP_200_OK
        return Response(ContactSerializer(_contact(external_id)).data, status=code)

    @extend_schema(
        operation_id="contacts_erase",
        responses={200: ErasureSerializer, **problems(401, 403, 404, 429)},
        summary="Erase a contact (right to erasure)",
        description="Removes the person's personal data from contacts, messages and rendered content; "
        "their addresses stay suppressed by hash only; the audit trail records the erasure. " + _needs(ERASE),
    )
    def delete(self, request: Request, external_id: str) -> Response:
        report = contact_erase(contact=_contact(external_id), actor=_actor(request))
        return Response(
            {
                "erased": True,
                "notifications": report.notifications,
                "messages": report.messages,
                "stopped": report.stopped,
            }
        )


class ContactBulkView(APIView):
    required_capability = WRITE

    @extend_schema(
        operation_id="contacts_bulk_upsert",
        request=ContactBulkSerializer,
        responses={200: BulkResultSerializer, **problems(400, 401, 403, 415, 429)},
        summary="Create or replace many contacts at once (CRM sync, up to 10,000)",
        description=_needs(WRITE),
    )
    def post(self, request: Request) -> Response:
        serializer = ContactBulkSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        write = ContactWriteSerializer()
        items = [
            write.to_contact_data(attrs["external_id"], attrs)
            for attrs in serializer.validated_data["contacts"]
        ]
        report = contacts_upsert(items=items, actor=_actor(request))
        return Response({"created": len(report.created), "updated": len(report.updated)})


class ConsentCreateView(APIView):
    required_capability = WRITE

    @extend_schema(
        operation_id="contacts_consents_create",
        request=ConsentCreateSerializer,
        responses={201: ConsentEntrySerializer, **problems(400, 401, 403, 404, 415, 429)},
        summary="Record consent given or withdrawn (appended to the ledger)",
        description="The source is always `api`: the sources of the hosted preference page, "
        f"one-click unsubscribe, SMS keywords and the hub's own feedback are refused. {_needs(WRITE)}",
    )
    def post(self, request: Request, external_id: str) -> Response:
        contact = _contact(external_id)
        serializer = ConsentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        entry = consent_record(
            contact=contact,
            channel=data["channel"],
            purpose=data["purpose"],
            granted=data["granted"],
            source=data["source"],
            actor=_actor(request),
            evidence=_evidence(request, data["evidence"]),
        )
        return Response(ConsentEntrySerializer(entry).data, status=status.HTTP_201_CREATED)


class PreferencesView(APIView):
    required_capability = {"GET": READ, "PUT": WRITE}

    @extend_schema(
        operation_id="contacts_preferences_retrieve",
        responses={200: PreferencesSerializer, **problems(401, 403, 404, 429)},
        summary="Current preferences per category and channel (from the consent ledger)",
        description=_needs(READ),
    )
    def get(self, request: Request, external_id: str) -> Response:
        return Response(_preferences_body(_contact(external_id)))

    @extend_schema(
        operation_id="contacts_preferences_update",
        request=PreferencesUpdateSerializer,
        responses={200: PreferencesSerializer, **problems(400, 401, 403, 404, 415, 429)},
        summary="Change preferences; each change is a consent ledger entry",
        description=_needs(WRITE),
    )
    def put(self, request: Request, external_id: str) -> Response:
        contact = _contact(external_id)
        serializer = PreferencesUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        preferences_set(
            contact=contact,
            choices={(p["category"], p["channel"]): p["granted"] for p in data["preferences"]},
            source="api",
            actor=_actor(request),
            evidence=_evidence(request, data.get("evidence")),
        )
        return Response(_preferences_body(contact))
