"""GET /api/v1/templates, and sends refused for missing or mistyped variables."""

from __future__ import annotations

import pytest

from hub.apikeys.services import apikey_create
from hub.messaging.models import Message, Notification
from tests.factories import make_live_template

PAYMENT = [
    {"channel": "sms", "locale": "en", "text": "{{ amount }} due {{ due }}"},
    {"channel": "sms", "locale": "fr", "text": "{{ amount }} le {{ due }}"},
    {"channel": "push", "locale": "en", "title": "Due", "text": "{{ amount }}"},
]
PAYMENT_VARIABLES = [
    {"name": "amount", "type": "money", "required": True, "example": "12.50 GBP", "description": "To pay"},
    {"name": "due", "type": "date", "required": True, "example": "2026-06-01"},
]


@pytest.fixture
def payment(db):
    return make_live_template("payment.due", variants=PAYMENT, variables=PAYMENT_VARIABLES)


def test_lists_live_templates_with_channels_locales_and_variable_examples(authed_client, payment):
    make_live_template("promo", category="marketing")
    response = authed_client.get("/api/v1/templates")
    assert response.status_code == 200
    by_key = {t["key"]: t for t in response.json()["results"]}
    assert set(by_key) == {"payment.due", "promo"}
    item = by_key["payment.due"]
    assert item["category"] == "transactional" and item["channels"] == ["sms", "push"]
    assert item["locales"] == ["en", "fr"] and item["version"] == 1
    assert item["variables"] == [
        {
            "name": "amount",
            "type": "money",
            "required": True,
            "example": {"amount": "12.50", "currency": "GBP"},
            "description": "To pay",
        },
        {"name": "due", "type": "date", "required": True, "example": "2026-06-01", "description": ""},
    ]


def test_templates_without_a_live_version_are_not_listed(authed_client, payment):
    from audit.services import Actor
    from templates_app.services import template_create

    template_create(key="draft.only", name="d", category="marketing", actor=Actor.system())
    keys = [t["key"] for t in authed_client.get("/api/v1/templates").json()["results"]]
    assert keys == ["payment.due"]


def test_a_category_scoped_key_sees_only_its_category(api_client, payment):
    make_live_template("promo", category="marketing")
    issued = apikey_create(name="marketing-only", scopes=["send", "category:marketing"])
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw}")
    assert [t["key"] for t in api_client.get("/api/v1/templates").json()["results"]] == ["promo"]


def test_needs_an_api_key(api_client, payment):
    response = api_client.get("/api/v1/templates")
    assert response.status_code == 401 and response["Content-Type"] == "application/problem+json"


def test_is_in_the_openapi_schema_with_an_example(api_client, db):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/v1/templates"]["get"]
    assert operation["operationId"] == "templates_list"
    content = operation["responses"]["200"]["content"]["application/json"]
    assert content["examples"]["LiveTemplates"]["value"]["results"][0]["key"] == "payment.due"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"due": "2026-06-01"}, "data.amount"),
        ({"amount": 12.5, "due": "2026-06-01"}, "data.amount"),
        ({"amount": {"amount": "1", "currency": "GBP"}, "due": "June 1st"}, "data.due"),
    ],
)
def test_send_with_missing_or_mistyped_variable_is_refused_naming_it(authed_client, payment, data, field):
    response = authed_client.post(
        "/api/v1/notifications",
        {"template": "payment.due", "to": {"phone": "+447911123456"}, "data": data},
        format="json",
    )
    assert response.status_code == 422 and response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "invalid_data" and field in [e["field"] for e in body["errors"]]
    assert field.split(".")[1] in body["detail"]
    assert not Notification.objects.exists() and not Message.objects.exists()


def test_good_typed_data_is_accepted_and_pins_version_and_approval(
    authed_client, payment, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = authed_client.post(
            "/api/v1/notifications",
            {
                "template": "payment.due",
                "to": {"phone": "+447911123456"},
                "channels": ["sms"],
                "locale": "fr",
                "data": {"amount": {"amount": "12.5", "currency": "EUR"}, "due": "2026-06-01"},
            },
            format="json",
        )
    assert response.status_code == 202, response.content
    notification = Notification.objects.get()
    assert notification.template_version == payment.live_version
    assert notification.template_approval == payment.live_version.approvals.get()
    message = notification.messages.get()
    assert message.rendered.get("text") == "12,50\xa0€ le 1 juin 2026"
