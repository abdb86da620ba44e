"""Every task has a soft and a hard time limit suited to it (issue 14, point 7): a task that
hangs (a provider that trickles, a lock that is never released) is stopped, so a worker cannot
go deaf behind it."""

from __future__ import annotations

import time
from uuid import UUID

import pytest
from django.test import override_settings

from bench.fakes.server import Injection
from bench.fakes.twilio import fake_twilio_env
from bench.fixtures import queued_messages_create
from hub.celery import app as celery_app
from hub.celery import send_queue
from hub.messaging import dispatch
from hub.messaging.models import Message
from hub.messaging.models import MessageStatus as S
from hub.messaging.tasks import send_messages
from tests.servers import private_redis
from tests.worker import publishing_to, wait_for, worker_process


def _hub_tasks() -> dict[str, object]:
    celery_app.loader.import_default_modules()
    # Celery's own built-in tasks (celery.chord_unlock...) are not ours to limit.
    return {name: task for name, task in celery_app.tasks.items() if not name.startswith("celery.")}


def test_every_registered_task_has_a_soft_and_a_hard_limit():
    tasks = _hub_tasks()
    assert "hub.messaging.tasks.send_messages" in tasks
    missing = sorted(
        name
        for name, task in tasks.items()
        if not getattr(task, "soft_time_limit", None) or not getattr(task, "time_limit", None)
    )
    assert missing == [], f"tasks without both time limits: {missing}"
    for name, task in tasks.items():
        soft, hard = task.soft_time_limit, task.time_limit  # type: ignore[attr-defined]
        assert soft < hard, f"{name}: the soft limit ({soft}) must come before the hard one ({hard})"


def test_a_send_is_stopped_before_the_sweeper_calls_it_stuck(settings):
    # A hand-off still running when the sweeper looks would be flagged while it may yet succeed.
    assert send_messages.time_limit < settings.HUB_STUCK_AFTER_SECONDS


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_send_past_its_soft_limit_is_stopped_and_neither_lost_nor_sent_twice(fake_twilio, tmp_path):
    """A provider that holds the connection: the task is stopped at its soft limit, the worker
    goes on consuming, the message is flagged for reconciliation (the provider may have it) and
    the provider is never called for it again."""
    hung, later = queued_messages_create(count=2, phone="+447911123456")
    fake_twilio.inject(Injection(201, {}, delay=8))  # longer than the soft limit below
    lane = send_queue("sms", "transactional")
    with (
        private_redis(tmp_path) as redis,
        publishing_to(redis.url),
        worker_process(redis.url, tmp_path, fake_twilio_env(fake_twilio), pool="prefork") as worker,
    ):
        # Per-message limits override the task's own, so the test need not wait 90 s.
        send_messages.apply_async(([str(hung)],), queue=lane, soft_time_limit=2, time_limit=6)
        wait_for(lambda: fake_twilio.call_count == 1, timeout=60, what="the hung provider call")
        wait_for(
            lambda: any(b"SoftTimeLimitExceeded" in p.read_bytes() for p in tmp_path.glob("worker-*.log")),
            timeout=30,
            what="the soft time limit",
        )
        send_messages.apply_async(([str(later)],), queue=lane)
        wait_for(lambda: _status(later) == S.SENT, timeout=60, what="the next send")
        assert worker.poll() is None
        time.sleep(3)  # long enough for a redelivered task to run again
        with override_settings(HUB_STUCK_AFTER_SECONDS=0):
            dispatch.messages_sweep_stuck()
    message = Message.objects.get(pk=hung)
    assert (message.status, message.needs_reconciliation) == (S.FAILED, True)
    assert fake_twilio.call_count == 2  # one call each: the stopped send never ran again


def _status(message_id: UUID) -> str:
    return Message.objects.get(pk=message_id).status
