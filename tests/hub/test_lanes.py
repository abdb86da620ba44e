"""Priority lanes: every queue name is routed to and consumed by a real worker.

Sends are published for each channel and lane, a sandbox delivery report to ``events`` and
the scheduler's job to ``maintenance``; before any worker runs, each lands in its own queue
on the (Redis) broker, then one worker drains them all and every message is delivered.
"""

from __future__ import annotations

import os

import pytest
import redis
from django.utils import timezone

from bench.fakes.callbacks import start_fake_receiver
from hub.apikeys.services import apikey_create
from hub.callbacks.models import CallbackDelivery, CallbackEndpoint, DeliveryStatus
from hub.callbacks.tasks import deliver_callbacks, deliver_due_callbacks
from hub.celery import (
    ALL_QUEUES,
    CHANNELS,
    LANES,
    QUEUE_CALLBACKS,
    QUEUE_EVENTS,
    QUEUE_MAINTENANCE,
    SEND_QUEUES,
    send_queue,
)
from hub.celery import app as celery_app
from hub.messaging import dispatch
from hub.messaging.lifecycle import Change, messages_transition
from hub.messaging.models import Message
from hub.messaging.models import MessageStatus as S
from hub.messaging.tasks import record_sandbox_delivery, release_due_messages
from tests.factories import ALL_CHANNEL_VARIANTS, make_live_template, make_queued_messages
from tests.services import REDIS_BROKER_URL, broker_reachable
from tests.worker import publishing_to, purge_queues, wait_for, worker_process


def test_queue_names_are_the_documented_constants():
    assert set(SEND_QUEUES) == {f"send.{c}.{lane}" for c in CHANNELS for lane in LANES}
    assert (
        celery_app.amqp.router.route({}, "hub.messaging.tasks.record_sandbox_delivery")["queue"].name
        == QUEUE_EVENTS
    )
    assert (
        celery_app.amqp.router.route({}, "hub.messaging.tasks.release_due_messages")["queue"].name
        == QUEUE_MAINTENANCE
    )
    for callbacks_task in (deliver_callbacks, deliver_due_callbacks):
        assert celery_app.amqp.router.route({}, callbacks_task.name)["queue"].name == QUEUE_CALLBACKS


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_every_queue_is_routed_and_consumed(tmp_path, settings):
    if problem := broker_reachable(REDIS_BROKER_URL):
        if os.environ.get("HUB_REQUIRE_SERVICES") == "1":
            pytest.fail(f"Redis broker is required in CI: {problem}")
        pytest.skip(f"Redis broker not reachable here: {problem}")
    settings.HUB_SANDBOX_DELIVERY_DELAY = 0
    broker = REDIS_BROKER_URL
    purge_queues(broker)
    transactional = make_live_template("lane.tx", variants=ALL_CHANNEL_VARIANTS)
    marketing = make_live_template("lane.mk", category="marketing", variants=ALL_CHANNEL_VARIANTS)
    addresses = {"sms": "+447911123456", "email": "lane@example.com", "push": "fcm-inline-token"}
    sends = {}
    for template in (transactional, marketing):
        for channel in CHANNELS:
            (message,) = make_queued_messages(template, channel=channel, to=addresses[channel])
            sends[send_queue(channel, template.category)] = message
    # A message already sent, whose delivery report goes through "events".
    (reported,) = make_queued_messages(transactional)
    messages_transition(
        [Change(reported.id, S.SENDING), Change(reported.id, S.SENT)],
        actor=dispatch.DISPATCH_ACTOR,
        source="test",
    )
    # A deferred message now due, released by the maintenance job.
    (deferred,) = make_queued_messages(transactional)
    Message.objects.filter(id=deferred.id).update(status=S.DEFERRED, not_before=timezone.now())
    # A status callback due to a calling service's endpoint, posted from "callbacks".
    receiver = start_fake_receiver()
    endpoint = CallbackEndpoint.objects.create(
        api_key=apikey_create(name="lanes").api_key, url=f"{receiver.base_url}/hooks"
    )
    callback = CallbackDelivery.objects.create(
        endpoint=endpoint, events={"events": []}, next_attempt_at=timezone.now()
    )

    client = redis.Redis.from_url(broker)
    with publishing_to(broker):
        for message in sends.values():
            dispatch.enqueue([message.id], channel=message.channel, category=message.category)
        record_sandbox_delivery.apply_async(([str(reported.id)],))
        release_due_messages.apply_async()
        deliver_callbacks.apply_async(([str(callback.id)],))
        lengths = {queue: client.llen(queue) for queue in ALL_QUEUES}
        assert lengths == dict.fromkeys(ALL_QUEUES, 1), "each task sits in its own queue"
        # The fake receiver listens on loopback, which production refuses unless allowed.
        with worker_process(broker, tmp_path, {"HUB_CALLBACK_ALLOWED_NETWORKS": "127.0.0.0/8"}):
            everything = [*(m.id for m in sends.values()), reported.id, deferred.id]
            wait_for(
                lambda: (
                    Message.objects.filter(id__in=everything, status=S.DELIVERED).count() == len(everything)
                ),
                timeout=90,
                what="every lane's message to be delivered",
            )
            wait_for(
                lambda: CallbackDelivery.objects.filter(
                    id=callback.id, status=DeliveryStatus.SUCCEEDED
                ).exists(),
                timeout=30,
                what="the status callback to be posted",
            )
    receiver.stop()
    assert len(receiver.calls) == 1
    assert {queue: client.llen(queue) for queue in ALL_QUEUES} == dict.fromkeys(ALL_QUEUES, 0)


def test_tasks_are_acknowledged_late_and_requeued_if_their_worker_dies():
    """With the conditional claim in dispatch, a redelivered send is harmless (see
    tests/hub/messaging/test_handoff.py), so sends may be acknowledged only when done."""
    conf = celery_app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
