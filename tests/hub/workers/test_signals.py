"""The figures an operator alerts on, read against real brokers and a real worker (issue 14,
point 7): queue depth is the number of messages really waiting, broker-up drops to 0 when the
broker dies, and a worker that stops consuming turns the probe and its gauge red, then green."""

from __future__ import annotations

import os
import signal

import pytest

from hub.celery import QUEUE_EVENTS, send_queue
from hub.messaging.tasks import send_messages
from tests.metrics import samples
from tests.servers import private_redis
from tests.services import REDIS_BROKER_URL
from tests.worker import (
    heartbeats_publish,
    probe_failure,
    publishing_to,
    purge_queues,
    wait_for,
    worker_process,
)

UP = ("switchboard_broker_up", ())


def depth(got, queue):
    return got[("switchboard_queue_depth", (("queue", queue),))]


@pytest.mark.broker
@pytest.mark.django_db
def test_queue_depth_counts_the_messages_waiting_on_the_real_broker(scraper):
    lane = send_queue("email", "marketing")
    purge_queues(REDIS_BROKER_URL)
    with publishing_to(REDIS_BROKER_URL):
        for i in range(7):  # nobody consumes this broker's queues during the test
            send_messages.apply_async(([f"00000000-0000-0000-0000-00000000000{i}"],), queue=lane)
        got = samples(scraper.get("/metrics"))
    purge_queues(REDIS_BROKER_URL)
    assert got[UP] == 1
    assert depth(got, lane) == 7
    assert depth(got, send_queue("sms", "transactional")) == 0


@pytest.mark.django_db
def test_broker_up_reads_zero_once_the_broker_is_gone(scraper, tmp_path):
    with private_redis(tmp_path) as redis, publishing_to(redis.url):
        send_messages.apply_async((["00000000-0000-0000-0000-000000000001"],), queue=QUEUE_EVENTS)
        before = samples(scraper.get("/metrics"))
        redis.kill()
        after = samples(scraper.get("/metrics"))
    assert (before[UP], depth(before, QUEUE_EVENTS)) == (1, 1)
    assert after[UP] == 0
    assert not any(name == "switchboard_queue_depth" for name, _ in after)  # unknown, not zero


def _quiet(scraper):
    got = samples(scraper.get("/metrics"))
    return min(v for (name, _), v in got.items() if name == "switchboard_worker_seconds_since_consumed")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_stopped_worker_fails_the_probe_and_recovers_when_continued(scraper, settings, tmp_path):
    settings.HUB_WORKER_LIVENESS_SECONDS = 6

    def beat_then(check):  # this test is beat: a heartbeat on every queue per poll
        def poll():
            heartbeats_publish(expires=1)
            return check()

        return poll

    with (
        private_redis(tmp_path) as redis,
        publishing_to(redis.url),
        worker_process(redis.url, tmp_path, pool="prefork") as worker,
    ):
        wait_for(beat_then(lambda: not probe_failure()), timeout=60, what="the probe to pass", interval=1)
        os.killpg(worker.pid, signal.SIGSTOP)  # alive in the process table, consuming nothing
        try:
            reason = wait_for(beat_then(probe_failure), timeout=30, what="the probe to fail", interval=1)
            first = _quiet(scraper)
            wait_for(beat_then(lambda: _quiet(scraper) > first + 2), timeout=10, what="the gauge to grow")
        finally:
            os.killpg(worker.pid, signal.SIGCONT)
        assert "stale" in reason and "window 6 s" in reason
        wait_for(beat_then(lambda: not probe_failure()), timeout=60, what="the probe to recover", interval=1)
        assert _quiet(scraper) < 6
        # read while the worker still runs: once it has shut down its stamps age past the window
        got = samples(scraper.get("/metrics"))
    assert all(v == 0 for (name, _), v in got.items() if name == "switchboard_worker_stale")
