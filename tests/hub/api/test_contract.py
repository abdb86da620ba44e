"""The API answers hostile or malformed input with a specific problem+json, in DEBUG on and off:
a body over the limit is a 413 (never a 500, never parsed whole), a path that matches no
endpoint is a problem+json 404, and values of another JSON type than the schema's, or keys it
does not name, are refused, never coerced or ignored."""

from __future__ import annotations

import json

import pytest

from hub.contacts.models import ConsentEntry, Contact

PROBLEM = "application/problem+json"


def _big_body(size: int) -> bytes:
    padding = "a" * size
    return json.dumps(
        {"template": "order.shipped", "to": {"external_id": "cust-1"}, "reference": padding}
    ).encode()


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/notifications"),  # reads request.body first (Idempotency-Key)
        ("put", "/api/v1/contacts/cust-9"),  # only the JSON parser reads it
        ("post", "/api/v1/contacts"),
    ],
)
def test_body_over_the_limit_is_413_problem(authed_client, settings, debug, method, path):
    settings.DEBUG = debug
    body = _big_body(settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)
    response = getattr(authed_client, method)(
        path, data=body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="big-1"
    )
    assert response.status_code == 413, response.content[:300]
    assert response["Content-Type"] == PROBLEM
    assert response.json()["code"] == "payload_too_large"
    assert not Contact.objects.filter(external_id="cust-9").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/broadcasts/null,null/cancel"),
        ("get", "/api/v1/notifications/null,null"),
        ("get", "/api/v1/no-such-endpoint"),
    ],
)
def test_a_path_no_endpoint_matches_is_a_problem_404(authed_client, settings, debug, method, path):
    settings.DEBUG = debug
    response = getattr(authed_client, method)(path)
    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM
    assert response.json()["code"] == "not_found"


@pytest.mark.django_db
def test_the_docs_without_their_slash_are_still_redirected(client):
    response = client.get("/api/docs")
    assert response.status_code == 301 and response["Location"] == "/api/docs/"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"contacts": [{"external_id": 0}]}, "contacts.0.external_id"),
        ({"contacts": [{"external_id": "cust-2", "locale": 5}]}, "contacts.0.locale"),
        ({"contacts": [{"external_id": "cust-2", "attributes": {}, "surname": "x"}]}, "contacts.0.surname"),
    ],
)
def test_bulk_contacts_refuse_other_types_and_unknown_keys(authed_client, body, field):
    response = authed_client.post("/api/v1/contacts", body, format="json")
    assert response.status_code == 400
    assert field in {e["field"] for e in response.json()["errors"]}
    assert not Contact.objects.filter(external_id__in=["0", "cust-2"]).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"locale": 5}, "locale"),
        ({"phone": 447911123456}, "phone"),
        ({"devices": [{"kind": "fcm", "token": 12345}]}, "devices.0.token"),
    ],
)
def test_contact_upsert_refuses_other_types(authed_client, body, field):
    response = authed_client.put("/api/v1/contacts/cust-3", body, format="json")
    assert response.status_code == 400
    assert field in {e["field"] for e in response.json()["errors"]}
    assert not Contact.objects.filter(external_id="cust-3").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"evidence": {"wording_version": "v1", "user_agent": 0}}, "evidence.user_agent"),
        ({"granted": 1}, "granted"),
        ({"note": "hi"}, "note"),
    ],
)
def test_consent_refuses_other_types_and_unknown_keys(authed_client, contact, change, field):
    body = {"channel": "sms", "purpose": "marketing", "granted": True, "evidence": {"wording_version": "v1"}}
    response = authed_client.post(
        f"/api/v1/contacts/{contact.external_id}/consents", {**body, **change}, format="json"
    )
    assert response.status_code == 400
    assert field in {e["field"] for e in response.json()["errors"]}
    assert not ConsentEntry.objects.filter(contact=contact).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"to": {"external_id": 0}}, "to.external_id"),
        ({"reference": 7}, "reference"),
        ({"routing": 1}, "routing"),
    ],
)
def test_notification_refuses_other_types(authed_client, live_template, contact, change, field):
    body = {"template": live_template.key, "to": {"external_id": contact.external_id}}
    response = authed_client.post("/api/v1/notifications", {**body, **change}, format="json")
    assert response.status_code == 400
    assert field in {e["field"] for e in response.json()["errors"]}


@pytest.mark.django_db
def test_schema_states_what_the_serializers_enforce(client):
    """Every request body refuses unknown keys, and says so; a list that may not be empty
    says minItems; every operation with a body documents 413."""
    document = client.get("/api/schema/?format=json").json()
    schemas = document["components"]["schemas"]
    requests = {name: s for name, s in schemas.items() if name.endswith("Request") and "properties" in s}
    assert requests
    for name, body in requests.items():
        assert body.get("additionalProperties") is False, name
    assert schemas["ContactBulkRequest"]["properties"]["contacts"]["minItems"] == 1
    assert schemas["RecipientRequest"]["minProperties"] == 1
    assert (schemas["AudienceRequest"]["minProperties"], schemas["AudienceRequest"]["maxProperties"]) == (
        1,
        1,
    )
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if "requestBody" in operation:
                assert "413" in operation["responses"], f"{method} {path}"
