"""``python manage.py worker_probe`` (SPEC §7): non-zero, with a one-line reason, when a worker
has not consumed from its queues within the liveness window; /readyz and /metrics show which
worker and queue is stale (issue 14, point 7)."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from hub.workers.liveness import worker_consumed
from tests.metrics import samples

pytestmark = pytest.mark.django_db

WINDOW = 120


def _consumed(worker: str, queue: str, seconds_ago: float) -> None:
    worker_consumed(worker=worker, queue=queue, at=timezone.now() - timedelta(seconds=seconds_ago))


def _probe(*args: str) -> str:
    out = StringIO()
    call_command("worker_probe", *args, stdout=out)
    return out.getvalue()


def test_probe_passes_when_every_worker_consumed_within_the_window(settings):
    settings.HUB_WORKER_LIVENESS_SECONDS = WINDOW
    _consumed("a@host", "events", 5)
    _consumed("a@host", "maintenance", 300)  # an idle queue: its other queue answered lately
    _consumed("b@host", "send.sms.transactional", 30)
    assert "2 worker(s) consumed" in _probe()


def test_probe_fails_naming_the_stale_worker(settings):
    settings.HUB_WORKER_LIVENESS_SECONDS = WINDOW
    _consumed("a@host", "events", 5)
    _consumed("b@host", "events", 400)
    with pytest.raises(CommandError) as failed:
        _probe()
    assert failed.value.returncode != 0
    reason = str(failed.value)
    assert "\n" not in reason
    assert "b@host" in reason and "a@host" not in reason
    assert "window 120 s" in reason


def test_probe_of_one_worker_looks_only_at_it(settings):
    settings.HUB_WORKER_LIVENESS_SECONDS = WINDOW
    _consumed("a@host", "events", 5)
    _consumed("b@host", "events", 400)
    assert "1 worker(s) consumed" in _probe("--worker", "a@host")
    with pytest.raises(CommandError, match="b@host"):
        _probe("--worker", "b@host")
    with pytest.raises(CommandError, match="c@host has not consumed"):
        _probe("--worker", "c@host")


def test_probe_fails_when_no_worker_ever_consumed():
    with pytest.raises(CommandError, match="no worker has consumed"):
        _probe()


def test_readyz_lists_stale_workers_without_failing_readiness(client, settings):
    # Readiness is the web process's: a deaf worker does not make this process unfit for traffic.
    settings.HUB_WORKER_LIVENESS_SECONDS = WINDOW
    _consumed("a@host", "events", 5)
    _consumed("b@host", "events", 400)
    response = client.get("/readyz")
    assert response.status_code == 200
    stale = response.json()["stale_workers"]
    assert [w["worker"] for w in stale] == ["b@host"]
    assert stale[0]["seconds_since_consumed"] >= 400


def test_metrics_show_seconds_since_each_worker_consumed_from_each_queue(scraper, settings):
    settings.HUB_WORKER_LIVENESS_SECONDS = WINDOW
    _consumed("a@host", "events", 5)
    _consumed("b@host", "events", 400)
    got = samples(scraper.get("/metrics"))
    since = "switchboard_worker_seconds_since_consumed"
    assert 400 <= got[(since, (("queue", "events"), ("worker", "b@host")))] < 460
    assert got[(since, (("queue", "events"), ("worker", "a@host")))] < 60
    assert got[("switchboard_worker_stale", (("worker", "b@host"),))] == 1
    assert got[("switchboard_worker_stale", (("worker", "a@host"),))] == 0
