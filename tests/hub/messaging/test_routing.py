"""Routing 'first' falls back to the next channel; 'all' sends on every one; cancel."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bench.fakes.twilio import INVALID_NUMBER, sent_messages
from hub.messaging.models import FallbackPolicy, Message
from hub.messaging.models import MessageStatus as S
from hub.messaging.routing import messages_fall_back_overdue, notifications_fall_back
from tests.factories import ORDER_DATA

URL = "/api/v1/notifications"


def send(client, **overrides):
    body = {"template": "order.shipped", "to": {"external_id": "cust-1"}, "data": ORDER_DATA, **overrides}
    response = client.post(URL, body, format="json")
    assert response.status_code == 202, response.content
    return response.json()


def channels_and_statuses(client, notification_id):
    body = client.get(f"{URL}/{notification_id}").json()
    return [(m["channel"], m["status"]) for m in body["messages"]], body


@pytest.mark.django_db(transaction=True)
class TestFallback:
    def test_failed_sms_falls_back_to_email_which_reaches_the_person(
        self, authed_client, live_template, twilio_sms
    ):
        """Twilio refuses the number (21211, permanent): the email is created, sent and
        delivered, and the notification says email reached the person."""
        sent = send(
            authed_client, to={"phone": INVALID_NUMBER, "email": "ada@example.com"}, channels=["sms", "email"]
        )
        statuses, body = channels_and_statuses(authed_client, sent["id"])
        assert statuses == [("sms", "failed"), ("email", "delivered")]
        assert body["delivered_channel"] == "email"
        email_events = body["messages"][1]["events"]
        assert email_events[0]["detail"]["fallback_from"] == body["messages"][0]["id"]
        assert len(sent_messages(twilio_sms)) == 1

    def test_delivered_first_channel_has_no_fallback(self, authed_client, live_template, contact):
        sent = send(authed_client, channels=["sms", "email"])
        statuses, body = channels_and_statuses(authed_client, sent["id"])
        assert statuses == [("sms", "delivered")]
        assert body["delivered_channel"] == "sms"

    def test_undelivered_report_triggers_fallback(self, authed_client, live_template, contact, settings):
        """A provider report 'undelivered' (after sent) makes the next channel go."""
        from audit.services import Actor
        from hub.messaging.lifecycle import Change, messages_transition

        settings.HUB_SANDBOX_DELIVERY_DELAY = 3600  # no simulated delivery: we report ourselves
        sent = send(authed_client, channels=["sms", "email"])
        sms_id = sent["messages"][0]["id"]
        Message.objects.filter(id=sms_id).update(status=S.SENT)
        messages_transition(
            [Change(Message.objects.get(id=sms_id).id, S.UNDELIVERED)], actor=Actor.system(), source="test"
        )
        statuses, _ = channels_and_statuses(authed_client, sent["id"])
        assert [c for c, _ in statuses] == ["sms", "email"]
        assert statuses[0][1] == "undelivered"

    def test_routing_all_never_falls_back(self, authed_client, live_template, twilio_sms):
        sent = send(
            authed_client,
            to={"phone": INVALID_NUMBER, "email": "ada@example.com"},
            channels=["sms", "email"],
            routing="all",
        )
        statuses, _ = channels_and_statuses(authed_client, sent["id"])
        assert statuses == [("sms", "failed"), ("email", "delivered")]
        assert Message.objects.filter(notification_id=sent["id"]).count() == 2

    def test_last_channel_failing_ends_the_notification(self, authed_client, live_template, twilio_sms):
        sent = send(authed_client, to={"phone": INVALID_NUMBER}, channels=["email", "sms"])
        statuses, body = channels_and_statuses(authed_client, sent["id"])
        assert statuses == [("email", "blocked"), ("sms", "failed")]
        assert body["delivered_channel"] == ""

    def test_fallback_twice_creates_nothing_twice(self, authed_client, live_template, twilio_sms):
        """A redelivered fallback task (or a second report) finds it already done."""
        sent = send(
            authed_client, to={"phone": INVALID_NUMBER, "email": "ada@example.com"}, channels=["sms", "email"]
        )
        sms = Message.objects.get(notification_id=sent["id"], channel="sms")
        report = notifications_fall_back(message_ids=[sms.id])
        assert report.created == [] and report.skipped == 1
        assert Message.objects.filter(notification_id=sent["id"]).count() == 2


@pytest.mark.django_db(transaction=True)
class TestFallbackOnTimeout:
    def test_sent_but_not_delivered_in_time_falls_back(self, authed_client, live_template, contact):
        """Template policy: SMS must be delivered within 10 minutes or email is tried (the SMS
        stays as it is: it was handed to the provider)."""
        FallbackPolicy.objects.create(template=live_template, channel="sms", wait_seconds=600)
        sent = send(authed_client, channels=["sms", "email"])
        sms = Message.objects.get(notification_id=sent["id"], channel="sms")
        assert sms.fallback_at is not None
        assert abs((sms.fallback_at - sms.created_at) - timedelta(minutes=10)) < timedelta(seconds=5)
        # The provider never reports delivery.
        Message.objects.filter(id=sms.id).update(status=S.SENT)
        assert messages_fall_back_overdue() == 0  # not yet
        Message.objects.filter(id=sms.id).update(fallback_at=timezone.now() - timedelta(seconds=1))
        assert messages_fall_back_overdue() == 1
        statuses, body = channels_and_statuses(authed_client, sent["id"])
        assert statuses == [("sms", "sent"), ("email", "delivered")]
        assert body["delivered_channel"] == "email"
        assert messages_fall_back_overdue() == 0  # done once

    def test_overdue_message_not_yet_sent_is_cancelled(self, authed_client, live_template, contact):
        """A message still waiting (here deferred by send_at) when its deadline passes is
        cancelled, so the person is not reached twice, and the next channel goes at once."""
        FallbackPolicy.objects.create(template=live_template, channel="sms", wait_seconds=600)
        send_at = timezone.now() + timedelta(hours=1)
        sent = send(authed_client, channels=["sms", "email"], send_at=send_at.isoformat())
        sms = Message.objects.get(notification_id=sent["id"], channel="sms")
        assert sms.fallback_at is not None
        assert abs(sms.fallback_at - (send_at + timedelta(minutes=10))) < timedelta(seconds=1)
        Message.objects.filter(id=sms.id).update(fallback_at=timezone.now() - timedelta(seconds=1))
        assert messages_fall_back_overdue() == 1
        statuses, _ = channels_and_statuses(authed_client, sent["id"])
        assert statuses == [("sms", "cancelled"), ("email", "delivered")]

    def test_no_policy_no_deadline(self, authed_client, live_template, contact):
        sent = send(authed_client, channels=["sms", "email"])
        assert Message.objects.get(notification_id=sent["id"], channel="sms").fallback_at is None


@pytest.mark.django_db
class TestCancel:
    def test_cancel_a_scheduled_notification(self, authed_client, live_template, contact):
        later = (timezone.now() + timedelta(hours=2)).isoformat()
        sent = send(authed_client, channels=["sms", "email"], routing="all", send_at=later)
        assert {m["status"] for m in sent["messages"]} == {"deferred"}
        response = authed_client.post(f"{URL}/{sent['id']}/cancel")
        assert response.status_code == 200
        body = response.json()
        assert {m["status"] for m in body["messages"]} == {"cancelled"}
        assert body["cancelled_at"] is not None
        # Nothing to release at send_at any more; a second cancel is a conflict.
        again = authed_client.post(f"{URL}/{sent['id']}/cancel")
        assert again.status_code == 409 and again.json()["code"] == "not_cancellable"

    def test_cancel_after_delivery_is_409_and_changes_nothing(
        self, authed_client, live_template, contact, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            sent = send(authed_client, channels=["sms"])
        response = authed_client.post(f"{URL}/{sent['id']}/cancel")
        assert response.status_code == 409
        assert Message.objects.get(notification_id=sent["id"]).status == S.DELIVERED

    def test_cancel_someone_elses_notification_is_404(self, authed_client, live_template, contact):
        from hub.apikeys.services import apikey_create
        from tests.factories import key_client

        sent = send(authed_client, send_at=(timezone.now() + timedelta(hours=1)).isoformat())
        other = key_client(apikey_create(name="other"))
        assert other.post(f"{URL}/{sent['id']}/cancel").status_code == 404

    def test_cancelled_notification_gets_no_fallback(self, authed_client, live_template, contact):
        sent = send(
            authed_client,
            channels=["sms", "email"],
            send_at=(timezone.now() + timedelta(hours=1)).isoformat(),
        )
        authed_client.post(f"{URL}/{sent['id']}/cancel")
        sms = Message.objects.get(notification_id=sent["id"], channel="sms")
        assert notifications_fall_back(message_ids=[sms.id]).created == []
