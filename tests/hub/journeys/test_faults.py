"""A real Celery worker killed with SIGKILL while it advances journey runs (issue 17, "not
done unless"): every run's send step is made exactly once, whatever the kill interrupted.

The worker runs beat's task (``hub.journeys.tasks.wake_due_runs``) on a redis-server of the
test's own; it is killed, with its pool children, once the first batch of runs has committed
and before the last. The runs it was advancing roll back with its transaction and stay due;
the next wake-up (here in the test's process, as beat would on another worker) advances them.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from bench.fakes.twilio import fake_twilio_env
from bench.journeys import bench_contacts, waiting_runs_create
from hub.journeys.models import JourneyRun, JourneyRunMessage, RunStatus
from hub.journeys.tasks import wake_due_runs
from hub.journeys.wake import journeys_wake_due
from hub.messaging.models import Notification
from tests.factories import ORDER_DATA, make_live_template
from tests.hub.journeys.conftest import definition, live_journey
from tests.servers import private_redis
from tests.worker import publishing_to, wait_for, worker_process

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

RUNS = int(os.environ.get("HUB_JOURNEY_FAULT_RUNS", "3000"))
STEPS = [
    {"id": "nap", "type": "wait", "duration": "1s"},
    {"id": "hello", "type": "send", "template": "order.shipped", "channels": ["sms"], "data": ORDER_DATA},
    {"id": "rest", "type": "wait", "duration": "1d"},
]


def test_a_worker_killed_mid_step_sends_nothing_twice_and_loses_no_run(fake_twilio, tmp_path, figure) -> None:
    make_live_template("order.shipped")
    journey = live_journey(definition(steps=STEPS))
    waiting_runs_create(journey.live_version, bench_contacts(RUNS, "fault"), step="nap", due=True)
    with private_redis(tmp_path) as redis, publishing_to(redis.url):
        with worker_process(redis.url, tmp_path, fake_twilio_env(fake_twilio), pool="prefork") as worker:
            wake_due_runs.apply_async()
            wait_for(lambda: Notification.objects.exists(), timeout=300, what="a first batch to commit")
            os.killpg(worker.pid, signal.SIGKILL)  # the worker and its pool children, at once
            worker.wait(timeout=10)
        made_before = Notification.objects.count()
        # Beat's next tick, elsewhere: runs the dead worker held are skipped until PostgreSQL
        # has rolled its transaction back, then advanced.
        deadline = time.monotonic() + 300
        while JourneyRun.objects.filter(step="nap").exists() and time.monotonic() < deadline:
            journeys_wake_due()
            time.sleep(0.2)
    figure("runs", RUNS)
    figure("sends made before the kill", made_before)
    assert 0 < made_before < RUNS, "the kill must land mid-way to test anything"
    assert JourneyRun.objects.filter(status=RunStatus.WAITING, step="rest").count() == RUNS
    assert Notification.objects.count() == RUNS
    assert Notification.objects.values("reference").distinct().count() == RUNS  # one per run
    assert JourneyRunMessage.objects.values("run").distinct().count() == RUNS
