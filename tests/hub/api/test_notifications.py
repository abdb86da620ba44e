"""POST /api/v1/notifications and the reads that follow it."""

from __future__ import annotations

import pytest

from hub.messaging.models import Message, Notification
from hub.providers.models import SandboxOutboxEntry
from tests.audit.log import audit_log_sequenced_and_verified
from tests.factories import ORDER_DATA

URL = "/api/v1/notifications"


def post(client, body, **extra):
    return client.post(URL, body, format="json", **extra)


@pytest.mark.django_db
class TestAcceptAndFollow:
    def test_send_by_contact_reaches_sandbox_and_is_delivered(
        self, authed_client, live_template, contact, django_capture_on_commit_callbacks
    ):
        """A notification is accepted (202), sent on commit, and its timeline shows every step."""
        with django_capture_on_commit_callbacks(execute=True):
            response = post(
                authed_client,
                {
                    "template": "order.shipped",
                    "to": {"external_id": "cust-1"},
                    "channels": ["sms"],
                    "data": ORDER_DATA,
                },
            )
        assert response.status_code == 202, response.content
        body = response.json()
        assert body["template"] == "order.shipped"
        assert [m["status"] for m in body["messages"]] == ["queued"]

        detail = authed_client.get(f"{URL}/{body['id']}").json()
        message = detail["messages"][0]
        assert message["status"] == "delivered"
        assert [e["status"] for e in message["events"]] == [
            "accepted",
            "queued",
            "sending",
            "sent",
            "delivered",
        ]
        outbox = SandboxOutboxEntry.objects.get(message_id=message["id"])
        assert outbox.to == "+447911123456"
        assert outbox.content["text"] == "Hi Ada, order A-1 is on its way."
        assert audit_log_sequenced_and_verified().ok

    def test_message_endpoint_shows_one_message(self, authed_client, live_template, contact):
        body = post(
            authed_client, {"template": "order.shipped", "to": {"external_id": "cust-1"}, "data": ORDER_DATA}
        ).json()
        message_id = body["messages"][0]["id"]
        response = authed_client.get(f"/api/v1/messages/{message_id}")
        assert response.status_code == 200
        assert response.json()["id"] == message_id

    def test_first_routing_skips_channels_without_address(self, authed_client, live_template):
        """With routing 'first', a channel with no address is blocked (no_address) and the next is used."""
        body = post(
            authed_client,
            {
                "template": "order.shipped",
                "to": {"email": "bob@example.com"},
                "channels": ["sms", "email"],
                "data": ORDER_DATA,
            },
        ).json()
        statuses = [(m["channel"], m["status"], m["block_reason"]) for m in body["messages"]]
        assert statuses == [("sms", "blocked", "no_address"), ("email", "queued", "")]

    def test_all_routing_creates_one_message_per_channel(self, authed_client, live_template, contact):
        body = post(
            authed_client,
            {
                "template": "order.shipped",
                "to": {"external_id": "cust-1"},
                "routing": "all",
                "data": ORDER_DATA,
            },
        ).json()
        assert sorted(m["channel"] for m in body["messages"]) == ["email", "sms"]

    def test_send_at_in_future_defers(self, authed_client, live_template, contact):
        body = post(
            authed_client,
            {
                "template": "order.shipped",
                "to": {"external_id": "cust-1"},
                "channels": ["sms"],
                "data": ORDER_DATA,
                "send_at": "2099-01-01T09:00:00Z",
            },
        ).json()
        assert body["messages"][0]["status"] == "deferred"
        assert body["messages"][0]["not_before"] == "2099-01-01T09:00:00Z"

    @pytest.mark.parametrize(
        "extra",
        [
            {"to": {"external_id": "cust-1"}, "channels": ["sms"]},
            {"to": {"email": "bob@example.com"}, "channels": ["sms", "email"]},
            {"to": {"external_id": "cust-1"}, "routing": "all"},
            {"to": {"external_id": "cust-1"}, "send_at": "2099-01-01T09:00:00Z"},
        ],
        ids=["contact", "first-with-blocked", "all", "send-at"],
    )
    def test_answer_is_what_a_read_then_shows(self, authed_client, live_template, contact, extra):
        """The 202 is built from what the acceptance wrote, not read back: it must equal a read."""
        body = post(authed_client, {"template": "order.shipped", "data": ORDER_DATA, **extra}).json()
        assert authed_client.get(f"{URL}/{body['id']}").json() == body


@pytest.mark.django_db
class TestRefusals:
    """Bad input gets a specific problem+json and creates nothing."""

    def assert_problem(self, response, status, code, field=None):
        assert response.status_code == status, response.content
        assert response["Content-Type"] == "application/problem+json"
        body = response.json()
        assert body["status"] == status
        assert body["code"] == code
        assert body["type"].endswith(code)
        if field is not None:
            assert field in [e["field"] for e in body["errors"]], body
        assert Notification.objects.count() == 0
        assert Message.objects.count() == 0
        return body

    def test_unknown_template(self, authed_client, contact):
        response = post(authed_client, {"template": "nope", "to": {"external_id": "cust-1"}})
        body = self.assert_problem(response, 422, "unknown_template", "template")
        assert "nope" in body["detail"]

    def test_unknown_contact(self, authed_client, live_template):
        response = post(authed_client, {"template": "order.shipped", "to": {"external_id": "ghost"}})
        self.assert_problem(response, 422, "unknown_contact", "to.external_id")

    def test_invalid_phone(self, authed_client, live_template):
        response = post(authed_client, {"template": "order.shipped", "to": {"phone": "12345"}})
        body = self.assert_problem(response, 422, "invalid_request", "to.phone")
        assert "E.164" in body["errors"][0]["message"]

    def test_invalid_email(self, authed_client, live_template):
        response = post(authed_client, {"template": "order.shipped", "to": {"email": "not-an-email"}})
        self.assert_problem(response, 422, "invalid_request", "to.email")

    def test_wrong_types(self, authed_client, live_template):
        response = post(
            authed_client,
            {
                "template": "order.shipped",
                "to": {"phone": "+447911123456"},
                "data": "text",
                "channels": "sms",
            },
        )
        body = self.assert_problem(response, 400, "invalid_request")
        assert {"data", "channels"} <= {e["field"] for e in body["errors"]}

    def test_unknown_field_such_as_status_is_refused(self, authed_client, live_template):
        response = post(
            authed_client,
            {
                "template": "order.shipped",
                "to": {"phone": "+447911123456"},
                "data": ORDER_DATA,
                "status": "delivered",
            },
        )
        self.assert_problem(response, 400, "invalid_request", "status")

    def test_missing_variable_is_named(self, authed_client, live_template):
        response = post(
            authed_client,
            {"template": "order.shipped", "to": {"phone": "+447911123456"}, "data": {"first_name": "Ada"}},
        )
        body = self.assert_problem(response, 422, "invalid_data", "data.order_number")
        assert "order_number" in body["detail"]

    def test_channel_not_in_template(self, authed_client, live_template):
        response = post(
            authed_client,
            {
                "template": "order.shipped",
                "to": {"phone": "+447911123456"},
                "channels": ["push"],
                "data": ORDER_DATA,
            },
        )
        self.assert_problem(response, 422, "channel_not_in_template", "channels")

    def test_malformed_json(self, authed_client, live_template):
        response = authed_client.post(URL, data=b"{not json", content_type="application/json")
        self.assert_problem(response, 400, "malformed_request")

    def test_unsupported_media_type(self, authed_client, live_template):
        response = authed_client.post(
            URL, data="template=x", content_type="application/x-www-form-urlencoded"
        )
        self.assert_problem(response, 415, "unsupported_media_type")

    def test_no_key(self, api_client, live_template):
        response = post(api_client, {"template": "order.shipped", "to": {"phone": "+447911123456"}})
        self.assert_problem(response, 401, "unauthenticated")
        assert response["WWW-Authenticate"].startswith("Bearer")

    def test_bad_key(self, api_client, live_template):
        api_client.credentials(HTTP_AUTHORIZATION="Bearer sb_deadbeef0000_nope")
        response = post(api_client, {"template": "order.shipped", "to": {"phone": "+447911123456"}})
        self.assert_problem(response, 401, "unauthenticated")

    def test_method_not_allowed(self, authed_client):
        self.assert_problem(authed_client.delete(URL), 405, "method_not_allowed")


@pytest.mark.django_db
def test_another_keys_notification_is_not_found(api_client, authed_client, live_template, contact):
    """A key sees only its own notifications and messages."""
    from hub.apikeys.services import apikey_create

    body = post(
        authed_client, {"template": "order.shipped", "to": {"external_id": "cust-1"}, "data": ORDER_DATA}
    ).json()
    other = apikey_create(name="other")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {other.raw}")
    assert api_client.get(f"{URL}/{body['id']}").status_code == 404
    assert api_client.get(f"/api/v1/messages/{body['messages'][0]['id']}").status_code == 404


@pytest.mark.django_db
def test_unknown_api_path_is_problem_json(authed_client):
    response = authed_client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


@pytest.mark.django_db(transaction=True)
class TestNoAddressInProviderErrors:
    """A provider's error often quotes the address it refused (Twilio 21211: "The 'To' number
    +1... is not a valid phone number"). A ``send`` key sending to an ``external_id`` has no
    ``contacts:read``, so the API must not hand it the contact's number that way."""

    def test_a_send_key_does_not_learn_the_contacts_number_from_a_refusal(self, live_template, twilio_sms):
        from bench.fakes.twilio import INVALID_NUMBER
        from hub.apikeys.services import apikey_create
        from hub.contacts.models import Contact
        from tests.factories import key_client

        Contact.objects.create(external_id="cust-9", phone=INVALID_NUMBER)
        client = key_client(apikey_create(name="sender", scopes=["send"]))
        body = {"template": "order.shipped", "to": {"external_id": "cust-9"}, "channels": ["sms"]}
        response = post(client, {**body, "data": ORDER_DATA})
        assert response.status_code == 202, response.content
        message = Message.objects.get(notification_id=response.json()["id"])
        assert message.status == "failed" and INVALID_NUMBER in message.error_message  # staff see it
        for shown in (
            client.get(f"{URL}/{message.notification_id}"),
            client.get(f"/api/v1/messages/{message.id}"),
        ):
            assert shown.status_code == 200
            assert INVALID_NUMBER not in shown.content.decode()
            assert INVALID_NUMBER[1:] not in shown.content.decode()
            assert "21211" in shown.content.decode()  # the reason is still there
