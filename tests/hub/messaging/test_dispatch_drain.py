"""A lane's drain: claims up to N queued messages at a time, never shares one with another drain,
and never leaves behind a message whose wake raced the drain's end (issue 16, point 4).

These call the dispatch services in this process; tests/hub/messaging/test_dispatch_workers.py
proves the same with real workers and a real broker.
"""

from __future__ import annotations

import threading

import pytest
import redis
from django.conf import settings
from django.db import connection

from hub.celery import send_queue
from hub.messaging import addressing, dispatch, wakes
from hub.messaging.intake import NotificationRequest, notification_accept
from hub.messaging.models import Message
from hub.messaging.models import MessageStatus as S
from hub.messaging.tasks import drain_lane
from hub.messaging.wakes import wake_flag_take, wake_key
from tests.factories import ORDER_DATA
from tests.hub.messaging.recording import CALLS, claims, queued_messages
from tests.services import REDIS_BROKER_URL
from tests.worker import publishing_to, purge_queues

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("recording")]

LANE = ("sms", "transactional")


def flag_set() -> bool:
    return bool(redis.Redis.from_url(settings.REDIS_URL).exists(wake_key(*LANE)))


def accept(template):
    request = NotificationRequest(
        template=template.key, to={"phone": "+447911123456"}, data=ORDER_DATA, channels=["sms"]
    )
    return notification_accept(request=request, api_key=None)


@pytest.mark.redis
def test_drain_sends_the_lane_in_batches_oldest_first_and_clears_its_wake(live_template, settings):
    settings.HUB_DISPATCH_BATCH_SIZE = 10
    ids = [m.id for m in queued_messages(live_template, count=25)]
    assert wake_flag_take(*LANE)  # as the wake that published this drain did
    report = dispatch.lane_drain(channel="sms", lane="transactional")
    assert (report.claimed, report.sent) == (25, 25)
    assert sorted(c.message_id for c in CALLS) == sorted(str(i) for i in ids)  # each once
    ids.sort()  # UUIDv7: in the order they were created
    assert claims(ids) == [set(ids[:10]), set(ids[10:20]), set(ids[20:])]  # oldest first
    assert not flag_set(), "an empty lane's drain clears its wake"


def test_drain_takes_only_its_own_lane_and_what_is_due(live_template, settings):
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import make_live_template, make_queued_messages

    marketing = make_live_template("promo", category="marketing")
    (promo,) = make_queued_messages(marketing)
    (later,) = queued_messages(live_template)
    Message.objects.filter(id=later.id).update(not_before=timezone.now() + timedelta(minutes=5))
    (now,) = queued_messages(live_template)
    dispatch.lane_drain(channel="sms", lane="transactional")
    statuses = dict(Message.objects.values_list("id", "status"))
    assert (statuses[now.id], statuses[later.id], statuses[promo.id]) == (S.SENT, S.QUEUED, S.QUEUED)


@pytest.mark.postgres
def test_two_drains_claiming_at_once_never_share_a_message(live_template, monkeypatch):
    """Each drain holds its rows locked until it has claimed them; the other skips them. Both
    wait for each other inside their claim transaction, so the claims truly overlap (without
    SKIP LOCKED the second would wait on the first's rows and the barrier would break)."""
    ids = [m.id for m in queued_messages(live_template, count=10)]
    barrier = threading.Barrier(2, timeout=20)
    block = addressing.messages_block_undeliverable

    def block_then_meet(**kwargs):
        block(**kwargs)
        barrier.wait()

    monkeypatch.setattr(dispatch, "messages_block_undeliverable", block_then_meet)
    taken: dict[str, int] = {}
    errors: list[BaseException] = []

    def drain(name: str) -> None:
        try:
            taken[name], _ = dispatch.lane_dispatch_next(channel="sms", lane="transactional", limit=5)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=drain, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert taken == {"a": 5, "b": 5}
    assert sorted(c.message_id for c in CALLS) == sorted(str(i) for i in ids)  # each once
    assert set(Message.objects.values_list("status", flat=True)) == {S.SENT}


@pytest.mark.redis
def test_a_wake_racing_the_drains_end_is_sent_by_that_drain(live_template, monkeypatch):
    """The drain found its lane empty; before it clears its wake, a message commits and its
    wake finds the flag still set (so it publishes nothing). The drain's claim after clearing
    sends it: no waiting for the sweeper."""
    (first,) = queued_messages(live_template)
    clear = wakes.wake_flag_clear
    raced: list[Message] = []
    published: list[tuple[object, ...]] = []
    monkeypatch.setattr(drain_lane, "apply_async", lambda *a, **kw: published.append(a))

    def accept_then_clear(channel: str, lane: str) -> None:
        if not raced:
            raced.append(accept(live_template).messages.get())
            assert flag_set()  # its wake published nothing
        clear(channel, lane)

    monkeypatch.setattr(dispatch, "wake_flag_clear", accept_then_clear)
    assert wake_flag_take(*LANE)
    dispatch.lane_drain(channel="sms", lane="transactional")
    (late,) = raced
    assert published == []
    assert set(Message.objects.filter(id__in=[first.id, late.id]).values_list("status", flat=True)) == {
        S.SENT
    }
    assert not flag_set()


@pytest.mark.broker
def test_a_burst_of_accepts_publishes_one_drain(live_template):
    """Twenty accepts while no worker runs: one drain task on the lane's queue, not twenty."""
    purge_queues(REDIS_BROKER_URL)
    with publishing_to(REDIS_BROKER_URL):
        for _ in range(20):
            accept(live_template)
        client = redis.Redis.from_url(REDIS_BROKER_URL)
        assert client.llen(send_queue(*LANE)) == 1
        assert Message.objects.filter(status=S.QUEUED).count() == 20
    purge_queues(REDIS_BROKER_URL)


@pytest.mark.redis
def test_a_failed_publish_drops_the_wake_so_the_next_accept_tries_again(live_template, monkeypatch):
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(drain_lane, "apply_async", broker_down)
    accept(live_template)  # the request succeeds; the message stays queued for the sweeper
    assert not flag_set()
    monkeypatch.undo()
    accept(live_template)  # the broker is back: this wake's (eager) drain sends both
    assert set(Message.objects.values_list("status", flat=True)) == {S.SENT}
