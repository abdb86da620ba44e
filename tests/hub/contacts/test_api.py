"""PUT/GET/DELETE /api/v1/contacts/{external_id}, bulk upsert, consents and preferences."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditRecord
from hub.contacts.models import ConsentEntry, Contact, Device

URL = "/api/v1/contacts"
WEBPUSH = {
    "kind": "webpush",
    "subscription": {
        "endpoint": "https://push.example.com/send/abc",
        "keys": {"p256dh": "BNc...", "auth": "tBH..."},
    },
}


def put(client, external_id, body):
    return client.put(f"{URL}/{external_id}", body, format="json")


@pytest.mark.django_db
class TestContactUpsert:
    def test_put_creates_then_replaces_with_normalised_fields(self, authed_client):
        body = {
            "email": "Ada@Example.COM",
            "phone": "+44 7911 123456",
            "locale": "en-GB",
            "timezone": "Europe/London",
            "attributes": {"tier": "gold"},
            "devices": [{"kind": "fcm", "token": "fcm-token-1"}, WEBPUSH],
        }
        created = put(authed_client, "cust-7", body)
        assert created.status_code == 201, created.content
        data = created.json()
        assert data["phone"] == "+447911123456"
        assert data["email"] == "Ada@example.com"
        assert {d["kind"] for d in data["devices"]} == {"fcm", "webpush"}
        replaced = put(
            authed_client,
            "cust-7",
            {"email": "ada@example.com", "devices": [{"kind": "fcm", "token": "fcm-token-2"}]},
        )
        assert replaced.status_code == 200
        (device,) = replaced.json()["devices"]  # the API shows no token (SPEC §4): the row has it
        assert Device.objects.get(pk=device["id"]).token == "fcm-token-2"
        assert replaced.json()["phone"] == ""
        assert Device.objects.filter(removed_at__isnull=False).count() == 2  # kept, marked removed
        assert authed_client.get(f"{URL}/cust-7").json()["email"] == "ada@example.com"
        record = AuditRecord.objects.filter(action="contact.updated").get()
        assert "ada@example.com" not in str(record.payload) and "email" in record.payload["fields"]

    @pytest.mark.parametrize(
        ("body", "field", "status"),
        [
            # Allowed by the schema, refused on meaning: 422; against the schema: 400.
            ({"phone": "07911 123456"}, "phone", 422),
            ({"email": "not-an-address"}, "email", 422),
            ({"timezone": "Mars/Olympus"}, "timezone", 422),
            ({"devices": [{"kind": "webpush"}]}, "devices.0.subscription", 400),
            ({"status": "x"}, "status", 400),
        ],
    )
    def test_bad_input_is_problem_json_naming_the_field_and_changes_nothing(
        self, authed_client, body, field, status
    ):
        response = put(authed_client, "cust-8", body)
        assert response.status_code == status
        assert response["Content-Type"] == "application/problem+json"
        assert field in {e["field"] for e in response.json()["errors"]}
        assert not Contact.objects.exists()

    def test_unknown_contact_is_404_problem(self, authed_client):
        response = authed_client.get(f"{URL}/nobody")
        assert response.status_code == 404 and response.json()["code"] == "not_found"

    def test_requires_an_api_key(self, api_client):
        assert api_client.get(f"{URL}/cust-1").status_code == 401


@pytest.mark.django_db
def test_bulk_upsert_of_thousands_costs_a_fixed_number_of_queries(authed_client):
    """A CRM sync of 2,000 contacts (half new, half existing) is one request and a handful of
    queries in batches (inserts, updates, audit), not one per contact."""
    Contact.objects.bulk_create(Contact(external_id=f"crm-{i}") for i in range(0, 2000, 2))
    contacts = [
        {"external_id": f"crm-{i}", "email": f"p{i}@example.com", "timezone": "Europe/Paris"}
        for i in range(2000)
    ]
    with CaptureQueriesContext(connection) as ctx:
        response = authed_client.post(URL, {"contacts": contacts}, format="json")
    assert response.status_code == 200, response.content[:500]
    assert response.json() == {"created": 1000, "updated": 1000}
    assert Contact.objects.filter(email__endswith="@example.com").count() == 2000
    assert len(ctx.captured_queries) < 100  # batched: SQLite splits batches more finely than PostgreSQL
    assert AuditRecord.objects.filter(action__in=["contact.created", "contact.updated"]).count() == 2000


@pytest.mark.django_db
def test_a_schema_error_among_refusals_on_meaning_keeps_it_a_400(authed_client):
    response = put(authed_client, "cust-9", {"phone": "07911 123456", "status": "x"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert "status" in {e["field"] for e in response.json()["errors"]}
    assert not Contact.objects.exists()


@pytest.mark.django_db
def test_bulk_with_one_bad_contact_names_it_and_writes_nothing(authed_client):
    body = {"contacts": [{"external_id": "a"}, {"external_id": "b", "phone": "123"}]}
    response = authed_client.post(URL, body, format="json")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "contacts.1.phone"
    assert not Contact.objects.exists()


@pytest.mark.django_db
class TestConsentAndPreferences:
    def test_consent_is_appended_with_evidence_and_derives_the_state(self, authed_client, contact):
        for granted in (True, False):
            response = authed_client.post(
                f"{URL}/cust-1/consents",
                {
                    "channel": "email",
                    "purpose": "marketing",
                    "granted": granted,
                    "evidence": {"wording_version": "signup-v2", "ip": "203.0.113.7", "user_agent": "UA"},
                },
                format="json",
            )
            assert response.status_code == 201, response.content
        entries = list(ConsentEntry.objects.order_by("id"))
        assert [e.granted for e in entries] == [True, False]
        assert (
            entries[0].evidence["wording_version"] == "signup-v2"
            and entries[0].evidence["ip"] == "203.0.113.7"
        )
        prefs = authed_client.get(f"{URL}/cust-1/preferences").json()["preferences"]
        assert {"category": "marketing", "channel": "email", "granted": False} in prefs
        assert {"category": "marketing", "channel": "sms", "granted": None} in prefs

    def test_consent_needs_evidence_and_known_values(self, authed_client, contact):
        response = authed_client.post(
            f"{URL}/cust-1/consents",
            {"channel": "fax", "purpose": "marketing", "granted": True},
            format="json",
        )
        assert response.status_code == 400
        assert {e["field"] for e in response.json()["errors"]} == {"channel", "evidence"}
        assert not ConsentEntry.objects.exists()

    def test_put_preferences_writes_one_entry_per_change_only(self, authed_client, contact):
        body = {
            "preferences": [
                {"category": "marketing", "channel": "sms", "granted": True},
                {"category": "marketing", "channel": "email", "granted": False},
            ]
        }
        first = authed_client.put(f"{URL}/cust-1/preferences", body, format="json")
        assert first.status_code == 200
        assert {"category": "marketing", "channel": "sms", "granted": True} in first.json()["preferences"]
        authed_client.put(f"{URL}/cust-1/preferences", body, format="json")
        assert ConsentEntry.objects.count() == 2
        assert set(ConsentEntry.objects.values_list("source", flat=True)) == {"api"}


@pytest.mark.django_db
def test_contact_endpoints_are_in_the_openapi_schema_without_warnings(tmp_path):
    from django.core.management import call_command

    out = tmp_path / "schema.yml"
    call_command("spectacular", "--fail-on-warn", "--file", str(out))
    schema = out.read_text()
    for path in (
        "/api/v1/contacts:",
        "/api/v1/contacts/{external_id}:",
        "/api/v1/contacts/{external_id}/consents:",
        "/api/v1/contacts/{external_id}/preferences:",
    ):
        assert path in schema
