"""The ``/v2/`` views: Notify's requests and answers around our services and selectors.

Authentication is Notify's JWT (hub.notify.authentication); scopes, rate limits and the
daily quota are every API key's (a send needs ``send``; reads ``read`` or ``send``; received
texts, which carry people's numbers and words, ``contacts:read``). Every error is in Notify's
shape (hub.notify.errors)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.api.permissions import ApiKeyScopes
from hub.api.quota import quota_take
from hub.api.throttling import ApiKeyRateThrottle
from hub.notify import presenters, selectors
from hub.notify.authentication import NotifyJWTAuthentication, request_api_key
from hub.notify.errors import NotifyError, bad_request, not_found, notify_exception_handler
from hub.notify.models import NotifyKey
from hub.notify.services import notify_send, template_data
from hub.notify.statuses import NOTIFY_STATUSES
from hub.notify.validation import is_uuid, preview_request_validate, send_request_validate
from templates_app.models import TemplateVersion
from templates_app.rendering import RenderError


def _notify_key(request: Request) -> NotifyKey:
    notify_key: NotifyKey = request_api_key(request).notify_key
    return notify_key


def _unexpected_params(request: Request, allowed: tuple[str, ...]) -> list[str]:
    """Notify's message for query parameters it does not take (none: an empty list)."""
    unexpected = [k for k in request.query_params if k not in allowed]
    if not unexpected:
        return []
    verb = "was" if len(unexpected) == 1 else "were"
    return [f"Additional properties are not allowed ({', '.join(unexpected)} {verb} unexpected)"]


def _refuse(messages: list[str]) -> None:
    if messages:
        raise NotifyError(400, "ValidationError", messages[0], more=messages[1:])


def _uuid_param(name: str, value: str) -> uuid.UUID:
    if not is_uuid(value):
        raise NotifyError(400, "ValidationError", f"{name} is not a valid UUID")
    return uuid.UUID(value)


class NotifyView(APIView):
    """Notify's authentication, our scopes and rate limits, Notify's error bodies."""

    authentication_classes = [NotifyJWTAuthentication]
    permission_classes = [ApiKeyScopes]
    throttle_classes = [ApiKeyRateThrottle]

    def get_exception_handler(self) -> Any:
        return notify_exception_handler

    def uri(self, path: str) -> str:
        return self.request.build_absolute_uri(path)


@extend_schema(exclude=True)
class SendView(NotifyView):
    channel = ""

    def post(self, request: Request) -> Response:
        send = send_request_validate(request.data, type=self.channel)
        api_key = request_api_key(request)
        with quota_take(api_key=api_key, cost=1):
            notification = notify_send(request=send, notify_key=_notify_key(request))
        return Response(presenters.post_response(notification.notify, self.uri), status=201)


class SmsView(SendView):
    channel = "sms"


class EmailView(SendView):
    channel = "email"


@extend_schema(exclude=True)
class LetterView(NotifyView):
    def post(self, request: Request) -> Response:
        raise bad_request("Letters are not a channel of this service (Switchboard sends SMS, email and push)")


@extend_schema(exclude=True)
class NotificationView(NotifyView):
    def get(self, request: Request, notification_id: str) -> Response:
        wanted = _uuid_param("notification_id", notification_id)
        row = selectors.notify_notification_get(notify_key=_notify_key(request), notification_id=wanted)
        if row is None:
            raise not_found()
        return Response(presenters.notification_body(row, self.uri))


@extend_schema(exclude=True)
class NotificationPdfView(NotifyView):
    def get(self, request: Request, notification_id: str) -> Response:
        raise bad_request("Letters are not a channel of this service: there is no PDF")


ALLOWED_LIST_PARAMS = ("reference", "status", "template_type", "include_jobs", "older_than")


@extend_schema(exclude=True)
class NotificationListView(NotifyView):
    def get(self, request: Request) -> Response:
        params = request.query_params
        errors = _unexpected_params(request, ALLOWED_LIST_PARAMS)
        statuses = params.getlist("status")
        errors += [
            f"status {s} is not one of {list(NOTIFY_STATUSES)}".replace("'", "")
            for s in statuses
            if s not in NOTIFY_STATUSES
        ]
        types = params.getlist("template_type")
        errors += [
            f"template_type {t} is not one of [sms, email, letter]"
            for t in types
            if t not in ("sms", "email", "letter")
        ]
        older_than = params.get("older_than")
        if older_than is not None and not is_uuid(older_than):
            errors.append("older_than is not a valid UUID")
        _refuse(errors)
        rows = selectors.notify_notifications_page(
            notify_key=_notify_key(request),
            statuses=statuses,
            types=types,
            reference=params.get("reference"),
            older_than=uuid.UUID(older_than) if older_than else None,
        )
        links = {"current": request.build_absolute_uri()}
        if rows:
            query = [(k, v) for k in params for v in params.getlist(k) if k != "older_than"]
            query.append(("older_than", str(rows[-1].notification_id)))
            links["next"] = self.uri(f"{request.path}?{urlencode(query)}")
        return Response(
            {"notifications": [presenters.notification_body(r, self.uri) for r in rows], "links": links}
        )


def _template_version(template_id: str, version: int | None = None) -> TemplateVersion:
    wanted = _uuid_param("id", template_id)
    found = selectors.notify_template_get(template_id=wanted, version=version)
    if found is None or presenters.template_type(found) is None:
        raise not_found()
    return found


@extend_schema(exclude=True)
class TemplateView(NotifyView):
    def get(self, request: Request, template_id: str) -> Response:
        return Response(presenters.template_body(_template_version(template_id)))


@extend_schema(exclude=True)
class TemplateVersionView(NotifyView):
    def get(self, request: Request, template_id: str, version: int) -> Response:
        return Response(presenters.template_body(_template_version(template_id, version)))


@extend_schema(exclude=True)
class TemplateListView(NotifyView):
    def get(self, request: Request) -> Response:
        kind = request.query_params.get("type")
        errors = _unexpected_params(request, ("type",))
        if kind is not None and kind not in ("sms", "email", "letter"):
            errors.append(f"type {kind} is not one of [sms, email, letter]")
        _refuse(errors)
        versions = [] if kind == "letter" else selectors.notify_templates_live(channel=kind)
        bodies = [presenters.template_body(v, kind) for v in versions if presenters.template_type(v, kind)]
        return Response({"templates": bodies})


@extend_schema(exclude=True)
class TemplatePreviewView(NotifyView):
    def post(self, request: Request, template_id: str) -> Response:
        personalisation = preview_request_validate(request.data)
        version = _template_version(template_id)
        kind = presenters.template_type(version) or "sms"
        data = template_data(version, personalisation)
        try:
            rendered = presenters.render(version, kind, data)
        except RenderError as exc:
            raise bad_request(str(exc)) from exc
        return Response(presenters.preview_body(version, rendered, kind))


@extend_schema(exclude=True)
class ReceivedTextsView(NotifyView):
    required_capability = "contacts:read"

    def get(self, request: Request) -> Response:
        errors = _unexpected_params(request, ("older_than",))
        older_than = request.query_params.get("older_than")
        if older_than is not None and not is_uuid(older_than):
            errors.append("older_than is not a valid UUID")
        _refuse(errors)
        anchor = presenters.received_text_pk(uuid.UUID(older_than)) if older_than else None
        notify_key = _notify_key(request)
        texts = selectors.received_texts_page(older_than=anchor)
        links = {"current": request.build_absolute_uri()}
        if texts:
            links["next"] = self.uri(
                f"{request.path}?{urlencode({'older_than': presenters.received_text_id(texts[-1])})}"
            )
        return Response(
            {
                "received_text_messages": [presenters.received_text_body(t, notify_key) for t in texts],
                "links": links,
            }
        )


@extend_schema(exclude=True)
class TemplateVersionsView(NotifyView):
    """``GET /service/{service_id}/template/{id}/versions``, which the Python client's
    ``get_all_template_versions`` calls (outside ``/v2/`` in Notify too)."""

    def get(self, request: Request, service_id: str, template_id: str) -> Response:
        if service_id != str(_notify_key(request).service_id):
            raise NotifyError(403, "AuthError", "Invalid token: service id does not match this API key")
        versions = selectors.notify_template_versions(template_id=_uuid_param("id", template_id))
        bodies = [presenters.template_body(v) for v in versions if presenters.template_type(v)]
        if not bodies:
            raise not_found()
        return Response({"data": bodies})
