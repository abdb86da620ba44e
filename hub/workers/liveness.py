"""Worker liveness: each worker stamps, per queue, when it last started a task from it.

A worker can be alive and deaf: after a Redis restart kombu has been seen to keep a worker
running that never consumes again, and a pool whose processes all hang starts nothing either.
Neither shows in the process table, so every worker records, in the database (shared by every
host, and by the embedded SQLite setup), when it last started a task from each queue. Beat puts
a small heartbeat task on every queue (``hub.celeryconfig.heartbeat_schedule``) so an idle queue still has
something to consume. ``worker_probe``, /readyz and /metrics read the stamps.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from hub.workspace.models import WorkerHeartbeat

logger = logging.getLogger("hub.workers")

# At most one write per worker, queue and process this often: a busy queue starts hundreds of
# tasks a second, and the stamp only needs to be fresher than the liveness window.
STAMP_EVERY = 2.0
# Stamps of a worker not seen for this long are dropped (a worker killed and never restarted).
FORGET_AFTER = timedelta(days=1)

_last_stamp: dict[tuple[str, str], float] = {}


@dataclass(frozen=True)
class Heartbeat:
    worker: str
    queue: str
    seconds_since_consumed: float


def worker_consumed(*, worker: str, queue: str, at: datetime | None = None) -> None:
    """Record that ``worker`` started a task from ``queue`` (now, unless ``at``)."""
    WorkerHeartbeat.objects.bulk_create(
        [WorkerHeartbeat(worker=worker, queue=queue, consumed_at=at or timezone.now())],
        update_conflicts=True,
        unique_fields=["worker", "queue"],
        update_fields=["consumed_at"],
    )


def worker_consumed_throttled(*, worker: str, queue: str) -> None:
    """``worker_consumed`` at most every ``STAMP_EVERY`` seconds; a database error is logged,
    never raised, so a stamp can never fail the task that triggered it."""
    key = (worker, queue)
    now = time.monotonic()
    if now - _last_stamp.get(key, float("-inf")) < STAMP_EVERY:
        return
    _last_stamp[key] = now
    try:
        worker_consumed(worker=worker, queue=queue)
    except DatabaseError as exc:
        logger.warning("worker heartbeat not recorded: %s", type(exc).__name__)


def worker_forget(*, worker: str) -> None:
    """A worker that shut down cleanly is no longer expected to consume."""
    WorkerHeartbeat.objects.filter(worker=worker).delete()


def heartbeats_forget_old() -> int:
    return WorkerHeartbeat.objects.filter(consumed_at__lt=timezone.now() - FORGET_AFTER).delete()[0]


def heartbeats(*, worker: str | None = None) -> list[Heartbeat]:
    """Every worker's stamp per queue, oldest first."""
    rows = WorkerHeartbeat.objects.order_by("consumed_at")
    if worker is not None:
        rows = rows.filter(worker=worker)
    now = timezone.now()
    return [
        Heartbeat(row.worker, row.queue, max((now - row.consumed_at).total_seconds(), 0.0)) for row in rows
    ]


def workers_quiet_for(beats: list[Heartbeat]) -> dict[str, float]:
    """Seconds since each worker started a task from any of its queues. Per worker, not per
    queue: with several workers on a queue, its one heartbeat per interval reaches only one of
    them, so one worker may go a while without a task from an idle queue."""
    quiet: dict[str, float] = {}
    for beat in beats:
        quiet[beat.worker] = min(quiet.get(beat.worker, float("inf")), beat.seconds_since_consumed)
    return quiet


def workers_stale(beats: list[Heartbeat]) -> dict[str, float]:
    """The workers quiet for longer than ``HUB_WORKER_LIVENESS_SECONDS``, with how long."""
    window = settings.HUB_WORKER_LIVENESS_SECONDS
    return {worker: quiet for worker, quiet in workers_quiet_for(beats).items() if quiet > window}
