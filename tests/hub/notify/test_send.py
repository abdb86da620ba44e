"""POST /v2/notifications/{sms,email}: Notify's validation and bodies, through our one intake
(compliance blocks show as a failure status, our reason beside it), and the listing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from audit.services import Actor
from bench.fakes.sendgrid import sent_mails
from bench.fakes.twilio import FROM_NUMBER, sent_messages
from hub.contacts.services import suppression_add
from hub.messaging.dispatch import messages_dispatch
from hub.messaging.models import Message, Notification
from hub.notify.models import KeyType, NotifyNotification
from hub.notify.statuses import notify_status
from templates_app.models import StaffAddress
from tests.factories import make_live_template
from tests.fake_servers import sendgrid_entry, twilio_entry
from tests.hub.notify.conftest import NotifyTestClient, assert_matches_notify_schema

PHONE = "+447911123456"
SMS = "/v2/notifications/sms"
EMAIL = "/v2/notifications/email"


@pytest.fixture
def sms_template(db: None) -> Any:
    return make_live_template(
        "notify.sms", variants=[{"channel": "sms", "locale": "en", "text": "Hi {{ name }}."}]
    )


def sms_body(template: Any, **extra: Any) -> dict[str, Any]:
    return {
        "phone_number": PHONE,
        "template_id": str(template.uuid),
        "personalisation": {"name": "Ada"},
        **extra,
    }


def errors(response: Any, status: int = 400) -> list[dict[str, str]]:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["status_code"] == status
    return list(body["errors"])


def messages(response: Any) -> list[str]:
    return [e["message"] for e in errors(response)]


@pytest.mark.django_db
class TestValidation:
    def test_required_and_unknown_properties_all_reported(self, notify_client) -> None:
        response = notify_client.post(SMS, {"phone": PHONE, "colour": "red"})
        assert {e["error"] for e in errors(response)} == {"ValidationError"}
        assert messages(response) == [
            "phone_number is a required property",
            "template_id is a required property",
            "Additional properties are not allowed (phone, colour were unexpected)",
        ]

    def test_bad_uuid_and_personalisation(self, notify_client) -> None:
        response = notify_client.post(
            SMS, {"phone_number": PHONE, "template_id": "abc", "personalisation": []}
        )
        assert messages(response) == [
            "template_id is not a valid UUID",
            "personalisation should contain key value pairs",
        ]

    def test_reference_up_to_1000_characters(self, notify_client, sms_template) -> None:
        assert notify_client.post(SMS, sms_body(sms_template, reference="r" * 1000)).status_code == 201
        assert NotifyNotification.objects.get().reference == "r" * 1000
        too_long = notify_client.post(SMS, sms_body(sms_template, reference="r" * 1001))
        assert messages(too_long) == ["reference is too long (the limit is 1,000 characters)"]

    @pytest.mark.parametrize(
        ("offset", "message"),
        [
            (timedelta(hours=-1), "scheduled_for datetime can not be in the past"),
            (timedelta(hours=25), "scheduled_for datetime can only be 24 hours in the future"),
        ],
    )
    def test_scheduled_for_within_24_hours(self, notify_client, sms_template, offset, message) -> None:
        when = (datetime.now(UTC) + offset).isoformat()
        assert messages(notify_client.post(SMS, sms_body(sms_template, scheduled_for=when))) == [message]

    def test_scheduled_for_defers_the_message(self, notify_client, sms_template) -> None:
        when = datetime.now(UTC) + timedelta(hours=2)
        response = notify_client.post(SMS, sms_body(sms_template, scheduled_for=when.isoformat()))
        assert response.status_code == 201, response.content
        assert response.json()["scheduled_for"] == when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        assert Message.objects.get().status == "deferred"
        got = notify_client.get(f"/v2/notifications/{response.json()['id']}").json()
        assert got["status"] == "created"

    def test_bad_schedule_format(self, notify_client, sms_template) -> None:
        assert messages(notify_client.post(SMS, sms_body(sms_template, scheduled_for="tomorrow")))[
            0
        ].startswith("scheduled_for datetime format is invalid")

    def test_one_click_unsubscribe_url_must_be_https(self, notify_client, sms_template) -> None:
        body = {
            "email_address": "ada@example.com",
            "template_id": str(sms_template.uuid),
            "one_click_unsubscribe_url": "http://example.com/u",
        }
        assert messages(notify_client.post(EMAIL, body)) == [
            "one_click_unsubscribe_url is not a valid https url"
        ]

    def test_bad_addresses(self, notify_client, sms_template) -> None:
        assert messages(notify_client.post(SMS, sms_body(sms_template, phone_number="12"))) == [
            "phone_number Not a valid international number"
        ]
        body = {"email_address": "not-an-address", "template_id": str(sms_template.uuid)}
        assert messages(notify_client.post(EMAIL, body)) == ["email_address Not a valid email address"]

    def test_uk_national_numbers_are_read_as_uk(self, notify_client, sms_template) -> None:
        response = notify_client.post(SMS, sms_body(sms_template, phone_number="07911 123456"))
        assert response.status_code == 201, response.content
        assert Message.objects.get().to == PHONE

    def test_unknown_template(self, notify_client) -> None:
        body = {"phone_number": PHONE, "template_id": "11111111-1111-4111-8111-111111111111"}
        assert errors(notify_client.post(SMS, body)) == [
            {"error": "BadRequestError", "message": "Template not found"}
        ]

    def test_template_without_that_channel(self, notify_client, sms_template) -> None:
        body = {
            "email_address": "ada@example.com",
            "template_id": str(sms_template.uuid),
            "personalisation": {"name": "A"},
        }
        assert messages(notify_client.post(EMAIL, body)) == [
            "notify.sms template is not suitable for email notification"
        ]

    def test_missing_personalisation_names_each(self, notify_client) -> None:
        template = make_live_template(
            "two.vars", variants=[{"channel": "sms", "locale": "en", "text": "{{ first_name }} {{ code }}"}]
        )
        response = notify_client.post(SMS, {"phone_number": PHONE, "template_id": str(template.uuid)})
        assert errors(response) == [
            {"error": "BadRequestError", "message": "Missing personalisation: code, first_name"}
        ]
        assert not Notification.objects.exists()

    def test_personalisation_keys_match_as_notify_matches_them(self, notify_client) -> None:
        template = make_live_template(
            "first.name", variants=[{"channel": "sms", "locale": "en", "text": "Hi {{ first_name }}"}]
        )
        body = {
            "phone_number": PHONE,
            "template_id": str(template.uuid),
            "personalisation": {"First Name": "Ada"},
        }
        response = notify_client.post(SMS, body)
        assert response.status_code == 201, response.content
        assert response.json()["content"]["body"] == "Hi Ada"

    def test_invalid_json(self, api_client, notify_key) -> None:
        from tests.hub.notify.conftest import signed

        response = api_client.post(
            SMS, "{", content_type="application/json", HTTP_AUTHORIZATION=signed(notify_key.raw)
        )
        assert errors(response) == [
            {"error": "BadRequestError", "message": "Invalid JSON supplied in POST data"}
        ]

    def test_letters_are_a_bad_request(self, notify_client, sms_template) -> None:
        response = notify_client.post("/v2/notifications/letter", {"template_id": str(sms_template.uuid)})
        assert errors(response)[0]["error"] == "BadRequestError"

    def test_unknown_path_is_notifys_404(self, notify_client) -> None:
        assert errors(notify_client.get("/v2/nothing-here"), 404) == [
            {"error": "NoResultFound", "message": "No result found"}
        ]

    def test_bad_notification_id(self, notify_client) -> None:
        assert messages(notify_client.get("/v2/notifications/abc")) == ["notification_id is not a valid UUID"]


@pytest.mark.django_db
class TestThroughTheIntake:
    def test_blocked_by_compliance_is_a_permanent_failure_with_our_reason(
        self, notify_client, sms_template
    ) -> None:
        suppression_add(channel="sms", address=PHONE, reason="manual", actor=Actor.system())
        response = notify_client.post(SMS, sms_body(sms_template))
        assert response.status_code == 201, response.content
        got = notify_client.get(f"/v2/notifications/{response.json()['id']}").json()
        assert_matches_notify_schema(got, "get_notification_response")
        assert got["status"] == "permanent-failure"
        assert got["switchboard"]["status"] == "blocked"
        assert got["switchboard"]["block_reason"] == "suppressed"
        assert got["switchboard"]["uri"].endswith(f"/api/v1/notifications/{got['id']}")

    def test_quota_is_notifys_too_many_requests(self, notify_client, notify_key, sms_template) -> None:
        type(notify_key.notify_key.api_key).objects.filter(pk=notify_key.notify_key.api_key.pk).update(
            daily_quota=1
        )
        assert notify_client.post(SMS, sms_body(sms_template)).status_code == 201
        response = notify_client.post(SMS, sms_body(sms_template))
        assert errors(response, 429) == [
            {"error": "TooManyRequestsError", "message": "Exceeded send limits (1) for today"}
        ]

    def test_a_refused_send_does_not_use_the_quota(self, notify_client, notify_key, sms_template) -> None:
        type(notify_key.notify_key.api_key).objects.filter(pk=notify_key.notify_key.api_key.pk).update(
            daily_quota=1
        )
        notify_client.post(
            SMS, {"phone_number": PHONE, "template_id": str(sms_template.uuid)}
        )  # missing name
        assert notify_client.post(SMS, sms_body(sms_template)).status_code == 201

    def test_team_key_sends_only_to_verified_staff_addresses(
        self, api_client, notify_key_factory, sms_template
    ) -> None:
        from django.contrib.auth import get_user_model
        from django.utils import timezone

        team = NotifyTestClient(api_client, notify_key_factory(name="team", key_type=KeyType.TEAM).raw)
        assert errors(team.post(SMS, sms_body(sms_template))) == [
            {
                "error": "BadRequestError",
                "message": "Can\u2019t send to this recipient using a team-only API key",
            }
        ]
        user = get_user_model().objects.create(username="marketer")
        StaffAddress.objects.create(user=user, channel="sms", address=PHONE, verified_at=timezone.now())
        assert team.post(SMS, sms_body(sms_template)).status_code == 201

    def test_test_keys_see_only_test_notifications(
        self, api_client, notify_key, notify_key_factory, sms_template
    ) -> None:
        live = NotifyTestClient(api_client, notify_key.raw)
        test = NotifyTestClient(
            api_client,
            notify_key_factory(
                name="t", key_type=KeyType.TEST, service_id=notify_key.notify_key.service_id
            ).raw,
        )
        live_id = live.post(SMS, sms_body(sms_template)).json()["id"]
        test_id = test.post(SMS, sms_body(sms_template)).json()["id"]
        assert [n["id"] for n in live.get("/v2/notifications").json()["notifications"]] == [live_id]
        assert [n["id"] for n in test.get("/v2/notifications").json()["notifications"]] == [test_id]
        assert test.get(f"/v2/notifications/{live_id}").status_code == 404
        sent_by = Notification.objects.get(id=test_id).api_key
        assert sent_by is not None
        assert sent_by.is_test  # dispatch sends it to the sandbox


@pytest.mark.django_db
class TestListing:
    def test_pages_of_250_with_next_links(self, notify_client, sms_template) -> None:
        ids = [notify_client.post(SMS, sms_body(sms_template)).json()["id"] for _ in range(3)]
        from hub.notify import selectors

        original = selectors.PAGE_SIZE
        selectors.PAGE_SIZE = 2
        try:
            first = notify_client.get("/v2/notifications", template_type="sms").json()
            assert [n["id"] for n in first["notifications"]] == ids[::-1][:2]
            assert "template_type=sms" in first["links"]["next"]
            assert first["links"]["next"].endswith(f"older_than={ids[1]}")
            second = notify_client.get("/v2/notifications", template_type="sms", older_than=ids[1]).json()
            assert [n["id"] for n in second["notifications"]] == [ids[0]]
            third = notify_client.get("/v2/notifications", older_than=ids[0]).json()
            assert third == {"notifications": [], "links": {"current": third["links"]["current"]}}
        finally:
            selectors.PAGE_SIZE = original
        assert_matches_notify_schema(first, "get_notifications_response")

    def test_bad_filters_are_validation_errors(self, notify_client) -> None:
        response = notify_client.get("/v2/notifications", status="lost", colour="red")
        assert messages(response)[0] == "Additional properties are not allowed (colour was unexpected)"
        assert messages(response)[1].startswith("status lost is not one of")


@pytest.mark.parametrize(
    ("status", "channel", "expected"),
    [
        ("accepted", "sms", "created"),
        ("queued", "sms", "created"),
        ("deferred", "email", "created"),
        ("sending", "sms", "sending"),
        ("sent", "sms", "pending"),
        ("sent", "email", "sending"),
        ("delivered", "email", "delivered"),
        ("undelivered", "sms", "temporary-failure"),
        ("bounced", "email", "permanent-failure"),
        ("blocked", "sms", "permanent-failure"),
        ("failed", "sms", "technical-failure"),
        ("cancelled", "sms", "cancelled"),
    ],
)
def test_status_table(status: str, channel: str, expected: str) -> None:
    assert notify_status(status=status, channel=channel) == expected


@pytest.mark.django_db
class TestSenders:
    def test_unknown_sender_is_notifys_bad_request(self, notify_client, notify_key, sms_template) -> None:
        unknown = "11111111-1111-4111-8111-111111111111"
        response = notify_client.post(SMS, sms_body(sms_template, sms_sender_id=unknown))
        assert errors(response) == [
            {
                "error": "BadRequestError",
                "message": f"sms_sender_id {unknown} does not exist in database for service id "
                f"{notify_key.notify_key.service_id}",
            }
        ]
        assert not Notification.objects.exists()

    def test_named_sender_is_the_from_number(self, notify_client, sms_template) -> None:
        from hub.notify.models import SmsSender

        SmsSender.objects.create(sms_sender="Example", is_default=True)
        chosen = SmsSender.objects.create(sms_sender="+447700900123")
        named = notify_client.post(SMS, sms_body(sms_template, sms_sender_id=str(chosen.id)))
        assert named.json()["content"]["from_number"] == "+447700900123"
        default = notify_client.post(SMS, sms_body(sms_template))
        assert default.json()["content"]["from_number"] == "Example"

    def test_email_reply_to(self, notify_client) -> None:
        from hub.notify.models import EmailReplyTo

        template = make_live_template("mail")
        reply_to = EmailReplyTo.objects.create(email_address="help@example.com")
        body = {
            "email_address": "ada@example.com",
            "template_id": str(template.uuid),
            "personalisation": {"first_name": "Ada", "order_number": "A-1"},
            "email_reply_to_id": str(reply_to.id),
        }
        assert notify_client.post(EMAIL, body).status_code == 201
        assert NotifyNotification.objects.get().email_reply_to == reply_to


@pytest.mark.django_db
class TestSendersReachTheProvider:
    """Issue 19 point 6: the named sender is what the provider is told to send from (not only
    what the answer shows)."""

    def test_the_sms_comes_from_the_named_sender(self, notify_client, sms_template, fake_twilio, settings):
        from hub.notify.models import SmsSender

        settings.HUB_PROVIDERS = {**settings.HUB_PROVIDERS, "sms": [twilio_entry(fake_twilio)]}
        chosen = SmsSender.objects.create(sms_sender="+447700900123")
        named = notify_client.post(SMS, sms_body(sms_template, sms_sender_id=str(chosen.id))).json()
        plain = notify_client.post(SMS, sms_body(sms_template)).json()
        messages_dispatch(message_ids=list(Message.objects.values_list("id", flat=True)))
        sent = {m["To"]: m for m in sent_messages(fake_twilio)}
        assert len(sent_messages(fake_twilio)) == 2
        by_notification = dict(Message.objects.values_list("notification_id", "provider_message_id"))
        assert by_notification.keys() == {UUID(named["id"]), UUID(plain["id"])}
        froms = sorted(m["From"] for m in sent_messages(fake_twilio))
        assert froms == sorted(["+447700900123", FROM_NUMBER])
        assert sent[PHONE]["To"] == PHONE

    def test_the_email_replies_go_to_the_named_address(self, notify_client, fake_sendgrid, settings):
        from hub.notify.models import EmailReplyTo

        settings.HUB_PROVIDERS = {**settings.HUB_PROVIDERS, "email": [sendgrid_entry(fake_sendgrid)]}
        template = make_live_template("mail")
        reply_to = EmailReplyTo.objects.create(email_address="help@example.com")
        body = {
            "email_address": "ada@example.com",
            "template_id": str(template.uuid),
            "personalisation": {"first_name": "Ada", "order_number": "A-1"},
        }
        assert notify_client.post(EMAIL, {**body, "email_reply_to_id": str(reply_to.id)}).status_code == 201
        assert notify_client.post(EMAIL, body).status_code == 201
        messages_dispatch(message_ids=list(Message.objects.values_list("id", flat=True)))
        mails = sent_mails(fake_sendgrid)
        # Same content, different Reply-To: two requests, not one shared one.
        assert sorted(str(m.get("reply_to")) for m in mails) == sorted(
            ["{'email': 'help@example.com'}", "None"]
        )


@pytest.mark.django_db
def test_our_own_api_shows_a_notify_send_and_why_it_was_blocked(
    notify_client, notify_key, api_client, sms_template
) -> None:
    """The Notify key's JWT works on /api/v1/ too: the same notification, with our reason."""
    from tests.hub.notify.conftest import signed

    suppression_add(channel="sms", address=PHONE, reason="manual", actor=Actor.system())
    sent = notify_client.post(SMS, sms_body(sms_template)).json()
    ours = api_client.get(f"/api/v1/notifications/{sent['id']}", HTTP_AUTHORIZATION=signed(notify_key.raw))
    assert ours.status_code == 200, ours.content
    message = ours.json()["messages"][0]
    assert (message["status"], message["block_reason"]) == ("blocked", "suppressed")
    forged = api_client.get(f"/api/v1/notifications/{sent['id']}", HTTP_AUTHORIZATION="Bearer a.b.c")
    assert forged.status_code == 403
    assert forged["Content-Type"] == "application/problem+json"


@pytest.mark.postgres  # a real PostgreSQL lock timeout (tests/db_faults.py)
@pytest.mark.django_db(transaction=True)
def test_a_database_that_does_not_answer_is_notifys_503_with_retry_after(notify_client, sms_template) -> None:
    from hub.messaging.models import Notification
    from tests.db_faults import table_refusing

    with table_refusing(Notification):
        response = notify_client.post(SMS, sms_body(sms_template))
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == "5"
    assert response.json()["errors"][0]["error"] == "ServiceUnavailableError"
    assert not Notification.objects.exists()
    assert notify_client.post(SMS, sms_body(sms_template)).status_code == 201
