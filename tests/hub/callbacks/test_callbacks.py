"""Signed status callbacks: registration, signature, batching, retries, suspension, admin."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from bench.fakes.callbacks import start_fake_receiver
from bench.fakes.server import FakeServer, Injection
from hub.callbacks.models import CallbackDelivery, CallbackEndpoint, DeliveryStatus
from hub.callbacks.services import backoff_seconds, callbacks_deliver, callbacks_due
from hub.callbacks.signing import callback_signature, callback_signature_valid
from tests.factories import ORDER_DATA

URL = "/api/v1/notifications"
BODY = {"template": "order.shipped", "to": {"external_id": "cust-1"}, "channels": ["sms"], "data": ORDER_DATA}


@pytest.fixture
def receiver() -> Iterator[FakeServer]:
    server = start_fake_receiver()
    yield server
    server.stop()


def register(client, url):
    response = client.put("/api/v1/callback", {"url": url}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def all_events(server: FakeServer) -> list[dict[str, Any]]:
    return [event for call in server.calls for event in call.json()["events"]]


@pytest.mark.django_db(transaction=True)
class TestDelivery:
    def test_status_events_are_posted_signed(self, authed_client, live_template, contact, receiver):
        endpoint = register(authed_client, f"{receiver.base_url}/hooks")
        assert endpoint["secret"].startswith("whsec_") and endpoint["suspended"] is False
        sent = authed_client.post(URL, {**BODY, "reference": "order-1"}, format="json").json()
        events = all_events(receiver)
        assert [e["status"] for e in events] == ["queued", "sending", "sent", "delivered"]
        assert {e["message_id"] for e in events} == {sent["messages"][0]["id"]}
        assert events[0]["notification_id"] == sent["id"] and events[0]["reference"] == "order-1"
        for call in receiver.calls:
            assert call.path == "/hooks"
            assert callback_signature_valid(
                secret=endpoint["secret"],
                timestamp=call.headers["switchboard-timestamp"],
                body=call.body,
                signature=call.headers["switchboard-signature"],
            )
        # No personal data in the events.
        assert "+447911123456" not in json.dumps(events)
        assert CallbackDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() == len(receiver.calls)

    def test_signature_check_refuses_tampering_and_old_timestamps(self):
        body = b'{"events":[]}'
        signature = callback_signature(secret="s", timestamp=1_700_000_000, body=body)
        assert callback_signature_valid(
            secret="s", timestamp="1700000000", body=body, signature=signature, now=1_700_000_100
        )
        assert not callback_signature_valid(
            secret="s", timestamp="1700000000", body=body + b" ", signature=signature, now=1_700_000_100
        )
        assert not callback_signature_valid(
            secret="t", timestamp="1700000000", body=body, signature=signature, now=1_700_000_100
        )
        assert not callback_signature_valid(
            secret="s", timestamp="1700000000", body=body, signature=signature, now=1_700_000_400
        )

    def test_keys_without_endpoint_post_nothing(self, authed_client, live_template, contact, receiver):
        authed_client.post(URL, BODY, format="json")
        assert receiver.calls == [] and not CallbackDelivery.objects.exists()

    def test_failure_is_retried_with_backoff_then_succeeds(
        self, authed_client, live_template, contact, receiver
    ):
        register(authed_client, f"{receiver.base_url}/hooks")
        receiver.inject(Injection(503, {"error": "busy"}, times=None))
        authed_client.post(URL, BODY, format="json")
        pending = list(CallbackDelivery.objects.filter(status=DeliveryStatus.PENDING))
        assert pending and all(d.attempts == 1 and d.last_status_code == 503 for d in pending)
        assert all(d.next_attempt_at > timezone.now() for d in pending)
        assert callbacks_due() == []  # not before its backoff
        receiver.clear()
        CallbackDelivery.objects.update(next_attempt_at=timezone.now())
        assert callbacks_deliver(delivery_ids=callbacks_due()) == len(pending)
        assert not CallbackDelivery.objects.filter(status=DeliveryStatus.PENDING).exists()
        assert [e["status"] for e in all_events(receiver)] == ["queued", "sending", "sent", "delivered"]

    def test_backoff_grows_and_is_capped(self):
        assert 22 <= backoff_seconds(1) <= 30
        assert 45 <= backoff_seconds(2) <= 60
        assert 2700 <= backoff_seconds(30) <= 3600

    def test_gives_up_after_the_retry_window(self, authed_client, live_template, contact, receiver):
        register(authed_client, f"{receiver.base_url}/hooks")
        receiver.inject(Injection(500, {}, times=None))
        authed_client.post(URL, BODY, format="json")
        CallbackDelivery.objects.update(
            next_attempt_at=timezone.now(), created_at=timezone.now() - timedelta(hours=25)
        )
        callbacks_deliver(delivery_ids=callbacks_due())
        assert set(CallbackDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.ABANDONED}

    def test_endpoint_that_keeps_failing_is_suspended_with_an_admin_alert(
        self, authed_client, live_template, contact, receiver, settings, admin_client
    ):
        settings.HUB_CALLBACK_SUSPEND_AFTER = 3
        register(authed_client, f"{receiver.base_url}/hooks")
        receiver.inject(Injection(500, {}, times=None))
        authed_client.post(URL, BODY, format="json")  # four events, four failed deliveries
        endpoint = CallbackEndpoint.objects.get()
        assert endpoint.suspended_at is not None and endpoint.consecutive_failures >= 3
        calls = len(receiver.calls)
        CallbackDelivery.objects.update(next_attempt_at=timezone.now())
        assert callbacks_due() == []  # suspended: nothing goes
        callbacks_deliver(delivery_ids=list(CallbackDelivery.objects.values_list("id", flat=True)))
        assert len(receiver.calls) == calls
        page = admin_client.get(reverse("admin:callbacks_callbackendpoint_changelist"))
        assert b"ALERT" in page.content and b"suspended" in page.content
        log = admin_client.get(reverse("admin:callbacks_callbackdelivery_changelist"))
        assert log.status_code == 200 and b"500" in log.content
        # Resuming in admin sends what was pending.
        receiver.clear()
        admin_client.post(
            reverse("admin:callbacks_callbackendpoint_changelist"),
            {"action": "resume", "_selected_action": [endpoint.pk]},
        )
        endpoint.refresh_from_db()
        assert endpoint.suspended_at is None
        callbacks_deliver(delivery_ids=callbacks_due())
        assert receiver.calls and not CallbackDelivery.objects.filter(status=DeliveryStatus.PENDING).exists()

    def test_changing_the_url_resumes(self, authed_client, live_template, receiver):
        register(authed_client, f"{receiver.base_url}/a")
        CallbackEndpoint.objects.update(suspended_at=timezone.now(), consecutive_failures=20)
        body = register(authed_client, f"{receiver.base_url}/b")
        assert body["suspended"] is False and body["url"].endswith("/b")
        assert authed_client.get("/api/v1/callback").json()["url"].endswith("/b")
        assert authed_client.delete("/api/v1/callback").status_code == 204
        assert authed_client.get("/api/v1/callback").status_code == 404
