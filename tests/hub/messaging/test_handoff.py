"""Exactly one hand-off: the same messages dispatched by two workers at once (a redelivered
task racing the original) reach the provider once each."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from bench.fakes.server import Injection
from bench.fakes.twilio import sent_messages
from hub.messaging import dispatch
from hub.messaging.models import Message
from hub.messaging.models import MessageStatus as S
from tests.factories import make_queued_messages
from tests.fake_servers import twilio_entry


@pytest.mark.django_db(transaction=True)
def test_concurrent_dispatch_of_the_same_messages_calls_the_provider_once_each(
    live_template, settings, fake_twilio
):
    settings.HUB_PROVIDERS = {**settings.HUB_PROVIDERS, "sms": [twilio_entry(fake_twilio)]}
    fake_twilio.inject(Injection(201, {"sid": "SMslow", "status": "queued"}, delay=0.3, times=None))
    ids = [m.id for m in make_queued_messages(live_template, count=10)]
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            dispatch.messages_dispatch(message_ids=ids)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(sent_messages(fake_twilio)) == 10
    assert set(Message.objects.filter(id__in=ids).values_list("status", flat=True)) == {S.SENT}
