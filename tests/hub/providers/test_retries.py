"""Retries: vendor hints honoured, exponential backoff with jitter, bounded; long waits sit in
the database (released by beat), never as long ETAs on the broker."""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime

import pytest
from django.utils import timezone

from bench.fakes.server import Injection
from bench.fakes.twilio import sent_messages
from hub.messaging import dispatch, outcomes
from hub.messaging.models import Message
from hub.messaging.models import MessageStatus as S
from hub.providers.base import retry_after_seconds
from tests.factories import make_queued_messages
from tests.fake_servers import twilio_entry


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "120"}, 120.0),
        ({"retry-after": "0"}, 0.0),
        ({"X-RateLimit-Reset": "1000000060"}, 60.0),  # an epoch
        ({"X-RateLimit-Reset": "15"}, 15.0),  # seconds
        ({}, None),
        ({"Retry-After": "soon"}, None),
    ],
)
def test_retry_after_hints(headers, expected):
    assert retry_after_seconds(headers, now=1_000_000_000) == expected


def test_retry_after_as_http_date():
    when = timezone.now() + timedelta(seconds=90)
    wait = retry_after_seconds({"Retry-After": format_datetime(when, usegmt=True)})
    assert wait is not None and 85 <= wait <= 90


def test_backoff_grows_with_jitter_and_is_capped():
    for attempt in range(1, 12):
        ceiling = min(1800.0, 2.0**attempt * 5)
        delays = {outcomes.backoff_seconds(attempt) for _ in range(20)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1, "jittered"
    assert outcomes.backoff_seconds(3, hint=600) == 600


@pytest.mark.django_db(transaction=True)
def test_a_long_rate_limit_hint_waits_in_the_database_and_beat_releases_it(
    live_template, settings, fake_twilio
):
    settings.HUB_PROVIDERS = {**settings.HUB_PROVIDERS, "sms": [twilio_entry(fake_twilio)]}
    fake_twilio.inject(
        Injection(429, {"code": 20429, "message": "Too Many Requests", "status": 429}, {"Retry-After": "600"})
    )
    (message,) = make_queued_messages(live_template)
    dispatch.messages_dispatch(message_ids=[message.id])
    message.refresh_from_db()
    assert (message.status, message.error_code) == (S.QUEUED, "20429")
    assert message.not_before is not None
    assert message.not_before >= timezone.now() + timedelta(seconds=590)
    # Not on the broker: with eager tasks a countdown enqueue would already have sent it.
    assert len(fake_twilio.calls) == 1
    assert dispatch.messages_release_due() == 0, "not due yet"
    past = timezone.now() - timedelta(seconds=120)
    Message.objects.filter(id=message.id).update(not_before=past, status_changed_at=past)
    assert dispatch.messages_release_due() == 1
    message.refresh_from_db()
    assert message.status == S.SENT and message.attempts == 2
    assert len(sent_messages(fake_twilio)) == 2
