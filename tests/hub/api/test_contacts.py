"""Contacts behind scopes (SPEC §4): who may read, change and erase them, what the API shows
of a contact's devices, and which consent sources the API may record."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.management import call_command

from hub.apikeys.services import apikey_create
from hub.callbacks.models import CallbackDelivery
from hub.contacts.models import ConsentEntry, ConsentSource, Contact
from tests.factories import ALL_CHANNEL_VARIANTS, ORDER_DATA, key_client, make_live_template
from tests.hub.security.api import CALLBACK_A, PROBLEM, db_snapshot

pytestmark = pytest.mark.django_db

URL = "/api/v1/contacts"
FCM_TOKEN = "fcm-secret-registration-token-0123456789"
P256DH = "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM"
AUTH = "tBHItJI5svbpez7KI4CCXg"
PUSH_ENDPOINT = "https://push.example.com/send/abc"
DEVICES = [
    {"kind": "fcm", "token": FCM_TOKEN},
    {
        "kind": "webpush",
        "subscription": {"endpoint": PUSH_ENDPOINT, "keys": {"p256dh": P256DH, "auth": AUTH}},
    },
]
EVIDENCE = {"wording_version": "signup-2026-01"}
CONSENT = {"channel": "email", "purpose": "marketing", "granted": True, "evidence": EVIDENCE}
PREFERENCES = {"preferences": [{"category": "marketing", "channel": "email", "granted": False}]}


def secrets_in(text: str) -> list[str]:
    return [s for s in (FCM_TOKEN, P256DH, AUTH, PUSH_ENDPOINT) if s in text]


class TestScopes:
    def test_a_sending_key_limited_to_one_template_cannot_touch_contacts(self, contact: Contact) -> None:
        """The issue's reproduction: a key with ``send`` + ``template:order.shipped`` reads no
        phone, email or device, changes no address, records no consent, erases nobody; each
        refusal is 403 problem+json naming the scope it lacks."""
        client = key_client(apikey_create(name="orders", scopes=["send", "template:order.shipped"]))
        before = db_snapshot()
        calls = [
            ("get", f"{URL}/cust-1", None, "contacts:read"),
            ("get", f"{URL}/cust-1/preferences", None, "contacts:read"),
            ("put", f"{URL}/cust-1", {"phone": "+447700900123"}, "contacts:write"),
            ("post", f"{URL}/cust-1/consents", CONSENT, "contacts:write"),
            ("put", f"{URL}/cust-1/preferences", PREFERENCES, "contacts:write"),
            (
                "post",
                URL,
                {"contacts": [{"external_id": "cust-1", "email": "x@example.com"}]},
                "contacts:write",
            ),
            ("delete", f"{URL}/cust-1", None, "contacts:erase"),
        ]
        for method, path, body, scope in calls:
            response = getattr(client, method)(path, body, format="json")
            assert (response.status_code, response["Content-Type"]) == (403, PROBLEM), (method, path)
            assert response.json()["code"] == "forbidden"
            assert f"'{scope}'" in response.json()["detail"], (method, path)
            assert "ada@example.com" not in response.content.decode()
        assert db_snapshot() == before

    def test_each_contacts_scope_allows_only_its_own_operations(self, contact: Contact) -> None:
        reader = key_client(apikey_create(name="crm-read", scopes=["contacts:read"]))
        writer = key_client(apikey_create(name="crm-write", scopes=["contacts:write"]))
        eraser = key_client(apikey_create(name="dpo", scopes=["contacts:erase"]))
        assert reader.get(f"{URL}/cust-1").json()["email"] == "ada@example.com"
        assert reader.get(f"{URL}/cust-1/preferences").status_code == 200
        assert reader.put(f"{URL}/cust-1", {"email": "b@example.com"}, format="json").status_code == 403
        assert writer.get(f"{URL}/cust-1").status_code == 403
        assert writer.put(f"{URL}/cust-1", {"email": "b@example.com"}, format="json").status_code == 200
        assert writer.post(f"{URL}/cust-1/consents", CONSENT, format="json").status_code == 201
        assert writer.delete(f"{URL}/cust-1").status_code == 403
        assert eraser.get(f"{URL}/cust-1").status_code == 403
        assert eraser.delete(f"{URL}/cust-1").json()["erased"] is True
        assert not Contact.objects.filter(external_id="cust-1").exists()


class TestDeviceSecrets:
    def test_devices_show_only_id_kind_and_when_added(self, authed_client: Any) -> None:
        created = authed_client.put(
            f"{URL}/cust-7", {"email": "ada@example.com", "devices": DEVICES}, format="json"
        )
        assert created.status_code == 201, created.content
        read = authed_client.get(f"{URL}/cust-7")
        for response in (created, read):
            devices = response.json()["devices"]
            assert [set(d) for d in devices] == [{"id", "kind", "created_at"}] * 2
            assert {d["kind"] for d in devices} == {"fcm", "webpush"}
            assert secrets_in(response.content.decode()) == []

    def test_no_response_or_status_callback_of_a_push_send_carries_a_device_secret(
        self, authed_client: Any
    ) -> None:
        """A push notification to a contact with devices, followed through the API and its
        status callbacks: the device's token and keys appear nowhere."""
        authed_client.put(f"{URL}/cust-7", {"devices": DEVICES}, format="json")
        assert authed_client.put("/api/v1/callback", {"url": CALLBACK_A}, format="json").status_code == 200
        template = make_live_template("app.alert", variants=ALL_CHANNEL_VARIANTS)
        body = {"template": template.key, "to": {"external_id": "cust-7"}, "data": ORDER_DATA}
        sent = authed_client.post("/api/v1/notifications", {**body, "channels": ["push"]}, format="json")
        assert sent.status_code == 202, sent.content
        answers = [sent, authed_client.get(f"/api/v1/notifications/{sent.json()['id']}")]
        answers += [authed_client.get(f"/api/v1/messages/{m['id']}") for m in sent.json()["messages"]]
        assert sent.json()["messages"], "the push send made no message to follow"
        texts = [a.content.decode() for a in answers]
        texts += [json.dumps(d.events) for d in CallbackDelivery.objects.all()]
        assert [secrets_in(t) for t in texts] == [[]] * len(texts)

    def test_the_openapi_schema_shows_no_device_secret_and_each_contacts_scope(self, tmp_path: Any) -> None:
        out = tmp_path / "schema.json"
        call_command("spectacular", "--format", "openapi-json", "--file", str(out))
        schema = json.loads(out.read_text())
        components = schema["components"]["schemas"]
        assert set(components["ContactDevice"]["properties"]) == {"id", "kind", "created_at"}
        contact = components["Contact"]["properties"]["devices"]
        assert contact["items"] == {"$ref": "#/components/schemas/ContactDevice"}
        operations = {
            (path, method): operation
            for path, item in schema["paths"].items()
            if path.startswith(URL)
            for method, operation in item.items()
        }
        assert len(operations) == 7
        for (path, method), operation in operations.items():
            needs = {"get": "contacts:read", "delete": "contacts:erase"}.get(method, "contacts:write")
            assert f"`{needs}`" in operation["description"], (path, method)
            assert "403" in operation["responses"], (path, method)


class TestConsentSources:
    @pytest.mark.parametrize("source", [s for s in ConsentSource.values if s != ConsentSource.API])
    def test_sources_of_hosted_pages_keywords_and_the_hub_are_refused(
        self, authed_client: Any, contact: Contact, source: str
    ) -> None:
        """Only the hub's own pages, keyword handling and feedback may write these sources: the
        API answers 400 naming ``source`` and records nothing."""
        response = authed_client.post(f"{URL}/cust-1/consents", {**CONSENT, "source": source}, format="json")
        assert (response.status_code, response["Content-Type"]) == (400, PROBLEM), response.content
        assert [e["field"] for e in response.json()["errors"]] == ["source"]
        assert not ConsentEntry.objects.exists()

    def test_the_api_source_is_recorded(self, authed_client: Any, contact: Contact) -> None:
        response = authed_client.post(f"{URL}/cust-1/consents", {**CONSENT, "source": "api"}, format="json")
        assert response.status_code == 201, response.content
        assert ConsentEntry.objects.get().source == ConsentSource.API
