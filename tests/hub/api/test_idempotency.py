"""Idempotency-Key on POST /api/v1/notifications: Stripe's semantics, per API key."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
import requests
from django.utils import timezone

from bench.fakes.twilio import sent_messages
from hub.apikeys.models import IdempotencyRecord, IdempotencyState
from hub.apikeys.services import apikey_create, idempotency_records_purge
from hub.messaging.models import Message, Notification
from tests.factories import ORDER_DATA, key_client
from tests.hub.api.livehub import live_hub

URL = "/api/v1/notifications"
BODY = {"template": "order.shipped", "to": {"external_id": "cust-1"}, "channels": ["sms"], "data": ORDER_DATA}


def post(client, body, key):
    return client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.django_db
class TestIdempotencySemantics:
    def test_same_key_and_body_replays_first_answer(self, authed_client, live_template, contact):
        first = post(authed_client, BODY, "order-A-1")
        second = post(authed_client, {**BODY, "data": dict(reversed(list(ORDER_DATA.items())))}, "order-A-1")
        assert first.status_code == second.status_code == 202
        assert second.json() == first.json()
        assert second["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first
        assert Notification.objects.count() == 1

    def test_same_key_other_body_is_422(self, authed_client, live_template, contact):
        assert post(authed_client, BODY, "k1").status_code == 202
        response = post(authed_client, {**BODY, "reference": "other"}, "k1")
        assert response.status_code == 422
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "idempotency_key_reused"
        assert Notification.objects.count() == 1

    def test_retry_while_first_in_flight_is_409(self, authed_client, live_template, contact, issued_key):
        """A record still in flight (its request has not finished) answers 409 with Retry-After."""
        first = post(authed_client, BODY, "k2")
        IdempotencyRecord.objects.filter(key="k2").update(
            state=IdempotencyState.IN_FLIGHT, response_body=None, locked_at=timezone.now()
        )
        response = post(authed_client, BODY, "k2")
        assert response.status_code == 409
        assert response.json()["code"] == "idempotency_request_in_flight"
        assert response["Retry-After"] == "1"
        assert first.status_code == 202

    def test_in_flight_record_of_a_dead_request_is_taken_over(
        self, authed_client, live_template, contact, settings, issued_key
    ):
        """A request that died without committing left its key in flight: after the lock
        timeout the key runs again (its work had rolled back, so nothing is doubled)."""
        settings.HUB_IDEMPOTENCY_LOCK_SECONDS = 1
        post(authed_client, BODY, "probe")
        fingerprint = IdempotencyRecord.objects.get(key="probe").fingerprint
        Notification.objects.all().delete()
        IdempotencyRecord.objects.create(
            api_key=issued_key.api_key,
            key="dead",
            method="POST",
            path=URL,
            fingerprint=fingerprint,
            locked_at=timezone.now() - timedelta(seconds=5),
        )
        response = post(authed_client, BODY, "dead")
        assert response.status_code == 202
        assert Notification.objects.count() == 1

    def test_errors_are_not_stored_so_the_key_can_be_retried(self, authed_client, live_template, contact):
        bad = post(authed_client, {**BODY, "template": "no.such"}, "k3")
        assert bad.status_code == 422
        assert not IdempotencyRecord.objects.filter(key="k3").exists()
        assert post(authed_client, BODY, "k3").status_code == 202

    def test_keys_are_per_api_key(self, authed_client, live_template, contact):
        other = key_client(apikey_create(name="other-service"))
        a = post(authed_client, BODY, "shared")
        b = post(other, BODY, "shared")
        assert a.status_code == b.status_code == 202
        assert a.json()["id"] != b.json()["id"]

    def test_key_is_validated(self, authed_client, live_template, contact):
        response = post(authed_client, BODY, "x" * 256)
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "Idempotency-Key"

    def test_records_are_kept_24h_then_purged(self, authed_client, live_template, contact):
        post(authed_client, BODY, "old")
        IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=23))
        assert idempotency_records_purge() == 0
        assert post(authed_client, BODY, "old")["Idempotent-Replayed"] == "true"
        IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
        assert idempotency_records_purge() == 1

    def test_without_header_every_request_is_new(self, authed_client, live_template, contact):
        authed_client.post(URL, BODY, format="json")
        authed_client.post(URL, BODY, format="json")
        assert Notification.objects.count() == 2


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_100_concurrent_duplicates_make_one_notification_and_one_provider_call(
    live_template, contact, issued_key, twilio_sms, figure
):
    """The same request sent 100 times at once with one Idempotency-Key, over real HTTP to a
    threaded server: one notification, one message, one call to (fake) Twilio; every answer is
    the 202 (first or replayed) or a 409 while the first was in flight."""
    # The key's rate limit is not what this test is about: let the whole burst through it.
    type(issued_key.api_key).objects.filter(pk=issued_key.api_key.pk).update(rate_limit_burst=1000)
    barrier = threading.Barrier(100)
    answers: list[tuple[int, dict[str, Any]]] = []
    lock = threading.Lock()

    with live_hub(workers=16) as base_url:

        def send() -> None:
            session = requests.Session()
            barrier.wait()
            response = session.post(
                f"{base_url}{URL}",
                json=BODY,
                headers={"Authorization": f"Bearer {issued_key.raw}", "Idempotency-Key": "burst-1"},
                timeout=60,
            )
            with lock:
                answers.append((response.status_code, response.json()))

        threads = [threading.Thread(target=send) for _ in range(100)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        after = requests.post(
            f"{base_url}{URL}",
            json=BODY,
            headers={"Authorization": f"Bearer {issued_key.raw}", "Idempotency-Key": "burst-1"},
            timeout=30,
        )

    statuses = sorted({status for status, _ in answers})
    figure("simultaneous requests", len(answers))
    figure(
        "answers 202 / 409", f"{[s for s, _ in answers].count(202)} / {[s for s, _ in answers].count(409)}"
    )
    figure("notifications", Notification.objects.count())
    figure("provider calls", len(sent_messages(twilio_sms)))
    assert len(answers) == 100
    assert set(statuses) <= {202, 409}, statuses
    ids = {body["id"] for status, body in answers if status == 202}
    assert len(ids) == 1
    assert after.status_code == 202 and after.json()["id"] in ids
    assert Notification.objects.count() == 1
    assert Message.objects.count() == 1
    assert len(sent_messages(twilio_sms)) == 1
