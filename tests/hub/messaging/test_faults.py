"""Faults with real processes: a worker killed or stopped mid-burst, a broker that restarts.

The worker faults run on both brokers: a redis-server of the test's own on a spare port, and
the machine's RabbitMQ (only the worker dies there, never the shared server; its queues are
purged first). The broker restart kills and restarts the private redis-server. The fake Twilio
server counts every provider call (issue: reliability suite, items 1 to 3).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.test import override_settings

from bench.fakes.twilio import fake_twilio_env
from bench.fixtures import queued_messages_create
from hub.messaging import dispatch
from hub.messaging.intake import NotificationRequest, notification_accept
from hub.messaging.models import Message
from hub.messaging.models import MessageStatus as S
from tests.factories import ORDER_DATA, make_live_template
from tests.servers import private_redis
from tests.services import RABBITMQ_BROKER_URL, broker_reachable
from tests.worker import (
    heartbeats_publish,
    probe_failure,
    publishing_to,
    purge_queues,
    wait_for,
    worker_process,
)

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

MESSAGES = int(os.environ.get("HUB_FAULT_TEST_MESSAGES", "10000"))
STUCK_AFTER = 10
# The liveness window the fault tests hold a surviving worker to (worker_probe).
LIVENESS = 60
PENDING = (S.QUEUED, S.SENDING, S.ACCEPTED)


def count(*statuses) -> int:
    return Message.objects.filter(status__in=statuses).count()


class WorkerDeaf(Exception):
    """``worker_probe`` failed: a worker alive but no longer consuming."""


def settle(timeout: float, *, probe_workers: bool = False) -> None:
    """Run the sweeper, as beat would, until nothing is left queued or sending.

    With ``probe_workers``: also put beat's heartbeats on every queue, and raise ``WorkerDeaf``
    as soon as ``worker_probe`` fails (a worker alive but no longer consuming)."""
    deadline = time.monotonic() + timeout
    left = count(*PENDING)
    with override_settings(HUB_STUCK_AFTER_SECONDS=STUCK_AFTER, HUB_WORKER_LIVENESS_SECONDS=LIVENESS):
        while left and time.monotonic() < deadline:
            dispatch.messages_sweep_stuck()
            dispatch.messages_release_due()
            if probe_workers:
                heartbeats_publish()
                if reason := probe_failure():
                    raise WorkerDeaf(reason)
            time.sleep(2)
            left = count(*PENDING)
    assert left == 0, f"{left} messages never reached a final state"


@contextmanager
def broker(kind: str, tmp_path) -> Iterator[str]:
    """A broker URL this test may use alone, published to for real."""
    if kind == "redis":
        with private_redis(tmp_path) as redis, publishing_to(redis.url):
            yield redis.url
        return
    if problem := broker_reachable(RABBITMQ_BROKER_URL):
        if os.environ.get("HUB_REQUIRE_SERVICES") == "1":
            pytest.fail(f"RabbitMQ is required in CI and is not reachable: {problem}")
        pytest.skip(f"RabbitMQ not reachable here: {problem}")
    purge_queues(RABBITMQ_BROKER_URL)
    with publishing_to(RABBITMQ_BROKER_URL):
        yield RABBITMQ_BROKER_URL


def twilio_env(fake) -> dict[str, str]:
    return {**fake_twilio_env(fake), "HUB_STUCK_AFTER_SECONDS": str(STUCK_AFTER)}


BROKERS = pytest.mark.parametrize("kind", ["redis", "rabbitmq"])


# The 10,000-message kill runs on Redis; on RabbitMQ a fifth of it keeps the suite in its time
# (the broker's redelivery of unacknowledged tasks is exercised all the same). "batches": the
# messages go as tasks of 100 ids (a broadcast); "drain": one wake, and the lane's drain claims
# them (single sends), killed with its worker mid-drain.
@pytest.mark.parametrize(
    ("kind", "messages", "via"),
    [
        ("redis", MESSAGES, "batches"),
        ("rabbitmq", MESSAGES // 5, "batches"),
        ("redis", MESSAGES // 5, "drain"),
    ],
)
def test_worker_killed_mid_burst_loses_nothing_and_flags_in_flight(
    kind, messages, via, fake_twilio, tmp_path, figure
):
    ids = queued_messages_create(count=messages, phone="+447911123456")
    with broker(kind, tmp_path) as url:
        env = twilio_env(fake_twilio)
        with worker_process(url, tmp_path, env, pool="prefork") as first:
            if via == "drain":
                dispatch.lane_wake("sms", "transactional")
            else:
                dispatch.enqueue(ids, channel="sms", category="transactional")
            wait_for(lambda: count(S.SENT) >= messages // 4, timeout=300, what="a quarter to be sent")
            os.killpg(first.pid, signal.SIGKILL)  # the worker and its pool children, at once
            first.wait(timeout=10)
        in_flight = count(S.SENDING)
        with worker_process(url, tmp_path, env, pool="prefork"):
            settle(timeout=600)
    flagged = Message.objects.filter(needs_reconciliation=True).count()
    calls = len(fake_twilio.calls)
    for name, value in [
        ("messages", messages),
        ("sending at the kill", in_flight),
        ("flagged for reconciliation", flagged),
        ("provider calls", calls),
        ("sent", count(S.SENT)),
        ("failed", count(S.FAILED)),
    ]:
        figure(name, value)
    assert count(S.SENT) + count(S.FAILED) == messages
    assert flagged <= in_flight
    assert calls <= messages + flagged, (calls, flagged)
    assert count(S.SENT) >= messages - flagged


@BROKERS
def test_warm_shutdown_runs_no_finished_task_again(kind, fake_twilio, tmp_path, figure):
    ids = queued_messages_create(count=MESSAGES // 5, phone="+447911123456")
    with broker(kind, tmp_path) as url:
        env = twilio_env(fake_twilio)
        with worker_process(url, tmp_path, env, pool="prefork") as first:
            dispatch.enqueue(ids, channel="sms", category="transactional")
            wait_for(lambda: count(S.SENT) >= len(ids) // 4, timeout=300, what="a quarter to be sent")
            first.send_signal(signal.SIGTERM)  # warm shutdown: finish what is running, return the rest
            first.wait(timeout=120)
        with worker_process(url, tmp_path, env, pool="prefork"):
            settle(timeout=600)
    figure("messages", len(ids))
    figure("provider calls", len(fake_twilio.calls))
    figure("sent", count(S.SENT))
    assert count(S.SENT) == len(ids)
    assert len(fake_twilio.calls) == len(ids)
    assert not Message.objects.filter(needs_reconciliation=True).exists()


def test_broker_restart_during_burst_loses_nothing(fake_twilio, tmp_path, figure):
    template = make_live_template()
    accepted: list[object] = []
    errors: list[BaseException] = []

    def burst(stop: threading.Event) -> None:
        from django.db import connection

        try:
            while not stop.is_set():
                request = NotificationRequest(
                    template=template.key, to={"phone": "+447911123456"}, data=ORDER_DATA, channels=["sms"]
                )
                accepted.append(notification_accept(request=request, api_key=None).pk)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    env = twilio_env(fake_twilio)
    with private_redis(tmp_path) as redis, publishing_to(redis.url):
        with worker_process(redis.url, tmp_path, env, pool="prefork") as worker:
            stop = threading.Event()
            thread = threading.Thread(target=burst, args=(stop,))
            thread.start()
            time.sleep(3)
            # Kill the broker at a moment some messages are in flight: a worker that keeps up
            # with the burst leaves none for a while (CI under load read 0 once, and the test
            # then proved nothing), so look again until some are, for up to 30 s.
            in_flight = count(*PENDING)  # their tasks are on the broker or being run
            deadline = time.monotonic() + 30
            while in_flight == 0 and time.monotonic() < deadline and thread.is_alive():
                time.sleep(0.02)
                in_flight = count(*PENDING)
            redis.kill()  # the broker goes away mid-burst, losing every task it held
            time.sleep(3)
            redis.start()  # and comes back empty on the same port
            time.sleep(3)
            stop.set()
            thread.join(timeout=60)
            survived = worker.poll() is None
            deaf = ""
            if survived:
                # Alive, it must consume again. A known kombu/Redis reconnection fault sometimes
                # leaves it deaf: then the liveness probe must say so, as a supervisor runs it,
                # and the supervisor replaces the worker (leaving this block stops it).
                try:
                    settle(timeout=600, probe_workers=True)
                except WorkerDeaf as exc:
                    deaf = str(exc)
        if not survived or deaf:
            # kombu sometimes stops the worker on the lost connection ("Unrecoverable error"
            # while acking), or leaves it deaf (above); in production its supervisor (systemd,
            # Kubernetes) starts another, as this test does. Nothing may be lost either way.
            with worker_process(redis.url, tmp_path, env, pool="prefork"):
                settle(timeout=600)
    figure("accepted during the burst", len(accepted))
    figure("in flight when the broker died", in_flight)
    figure("sent", count(S.SENT))
    figure("provider calls", len(fake_twilio.calls))
    figure("worker restarted by the test (kombu stopped it)", not survived)
    figure("worker replaced by the test (worker_probe failed)", deaf or "no")
    assert not errors, errors
    assert in_flight > 0, "no task was in flight when the broker died: the test proved nothing"
    assert Message.objects.count() == len(accepted)
    assert count(S.SENT) == len(accepted)
    assert len(fake_twilio.calls) == len(accepted)
