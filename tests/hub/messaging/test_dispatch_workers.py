"""The lane drain with real Celery workers, a real Redis broker and the fake Twilio server:
single accepts travel in batches, drains in two workers never send a message twice, and
transactional sends do not wait behind a marketing backlog (issue 16, point 4)."""

from __future__ import annotations

import threading
from uuid import UUID

import pytest
import redis
from django.db import connection

from bench.fakes.twilio import fake_twilio_env
from bench.workers import worker_processes
from hub.celery import send_queue
from hub.messaging import dispatch
from hub.messaging.intake import NotificationRequest, notification_accept
from hub.messaging.models import Message, MessageEvent
from hub.messaging.models import MessageStatus as S
from hub.messaging.tasks import drain_lane
from tests.factories import ORDER_DATA, make_live_template, make_queued_messages
from tests.hub.messaging.recording import claims
from tests.services import REDIS_BROKER_URL, broker_reachable
from tests.worker import publishing_to, purge_queues, wait_for, worker_process

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SERVICES = 16


@pytest.fixture
def broker():
    if problem := broker_reachable(REDIS_BROKER_URL):
        pytest.fail(f"the Redis broker is required: {problem}")
    purge_queues(REDIS_BROKER_URL)
    with publishing_to(REDIS_BROKER_URL):
        yield REDIS_BROKER_URL
    purge_queues(REDIS_BROKER_URL)


def accept(template, phone="+447911123456"):
    request = NotificationRequest(
        template=template.key, to={"phone": phone}, data=ORDER_DATA, channels=["sms"]
    )
    return notification_accept(request=request, api_key=None).messages.get()


def test_single_accepts_from_many_services_travel_as_batches(broker, fake_twilio, tmp_path, settings):
    """Sixteen services each accept ten single sends while the worker is busy elsewhere (here:
    not started): one drain is pending for the lane, and it sends them in batches of N."""
    template = make_live_template()
    ids: list[UUID] = []
    errors: list[BaseException] = []

    def service() -> None:
        try:
            for _ in range(10):
                ids.append(accept(template).id)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=service) for _ in range(SERVICES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert redis.Redis.from_url(broker).llen(send_queue("sms", "transactional")) == 1, "one drain, not 160"
    with worker_process(broker, tmp_path, fake_twilio_env(fake_twilio)):
        wait_for(
            lambda: Message.objects.filter(status=S.SENT).count() == len(ids),
            timeout=120,
            what="every accepted message to be sent",
        )
    assert len(fake_twilio.calls) == len(ids) == SERVICES * 10
    assert [len(c) for c in claims(ids)] == [
        settings.HUB_DISPATCH_BATCH_SIZE,
        len(ids) - settings.HUB_DISPATCH_BATCH_SIZE,
    ]


def test_drains_in_two_workers_never_send_a_message_twice(broker, fake_twilio, tmp_path):
    """Four drains of one lane at once, in two worker processes, bypassing the wake flag: each
    message is claimed by one of them and handed to Twilio once."""
    template = make_live_template()
    ids = [m.id for m in make_queued_messages(template, count=1500)]
    env = {"HUB_SANDBOX_DELIVERY_DELAY": "0", **fake_twilio_env(fake_twilio)}
    with worker_processes(broker, tmp_path, count=2, concurrency=2, extra_env=env):
        for _ in range(4):
            drain_lane.apply_async(("sms", "transactional"), queue=send_queue("sms", "transactional"))
        wait_for(
            lambda: Message.objects.filter(status=S.SENT).count() == len(ids),
            timeout=300,
            what="the lane to be drained",
        )
    assert len(fake_twilio.calls) == len(ids)
    assert MessageEvent.objects.filter(status=S.SENDING).count() == len(ids)  # each claimed once
    assert set(Message.objects.values_list("attempts", flat=True)) == {1}


def test_transactional_sends_do_not_wait_behind_a_marketing_backlog(broker, fake_twilio, tmp_path):
    """A marketing lane with thousands queued is being drained; transactional accepts on the
    same channel are sent while that backlog is still far from done."""
    marketing = make_live_template("promo", category="marketing")
    backlog = [m.id for m in make_queued_messages(marketing, count=6000)]
    transactional = make_live_template()
    with worker_process(broker, tmp_path, fake_twilio_env(fake_twilio)):
        dispatch.lane_wake("sms", "marketing")
        wait_for(
            lambda: Message.objects.filter(id__in=backlog, status=S.SENT).count() >= 200,
            timeout=120,
            what="the marketing drain to be under way",
        )
        urgent = [accept(transactional).id for _ in range(3)]
        wait_for(
            lambda: Message.objects.filter(id__in=urgent, status=S.SENT).count() == len(urgent),
            timeout=60,
            what="the transactional sends",
        )
        left = Message.objects.filter(id__in=backlog, status=S.QUEUED).count()
    assert left >= len(backlog) // 4, f"only {left} marketing messages were left: the test proved nothing"


def test_one_send_after_another_each_wakes_a_drain(broker, fake_twilio, tmp_path):
    """Idle single sends, one at a time, with a prefork worker as deployed: each drain clears
    the lane's wake when it is done, so the next accept wakes a new one (the test process and
    the worker must see the same flag, whatever their cache key prefixes)."""
    template = make_live_template()
    with worker_process(broker, tmp_path, fake_twilio_env(fake_twilio), pool="prefork"):
        for _ in range(3):
            sent = Message.objects.filter(id=accept(template).id, status=S.SENT)
            wait_for(sent.exists, timeout=20, what="this send, before the next one is accepted")
    assert len(fake_twilio.calls) == 3
