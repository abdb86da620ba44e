"""The Celery app, its queue names and routing.

Queue names are constants: a test checks each one is routed to and consumed. Sending is
split into lanes so transactional traffic never waits behind a marketing broadcast.
"""

from __future__ import annotations

import gc
import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_init, worker_process_init, worker_shutdown
from kombu.transport import TRANSPORT_ALIASES

from hub.collector import collector_tune

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
# ``filesystem://`` (the embedded broker) means hub's safe subclass of kombu's transport in every
# process that loads this app. Replacing the alias rather than inventing a URL scheme: Celery
# prefers CELERY_BROKER_URL from the environment to its configuration, so a rewritten URL could
# be bypassed.
TRANSPORT_ALIASES["filesystem"] = "hub.workers.embedded_broker:Transport"

CHANNELS = ("sms", "email", "push")
LANES = ("transactional", "marketing")

# Allocations between young-generation collections in a worker (Python's default is 700).
WORKER_GC_THRESHOLD = 10_000

QUEUE_EVENTS = "events"
QUEUE_MAINTENANCE = "maintenance"
# Status callbacks POST to the calling services' own endpoints, whose slowness is theirs: on a
# queue of their own they never hold up provider reports or fallbacks on ``events``.
QUEUE_CALLBACKS = "callbacks"


def send_queue(channel: str, lane: str) -> str:
    """Name of the queue that carries sends for one channel and lane."""
    return f"send.{channel}.{lane}"


SEND_QUEUES = tuple(send_queue(channel, lane) for channel in CHANNELS for lane in LANES)
ALL_QUEUES = (*SEND_QUEUES, QUEUE_EVENTS, QUEUE_MAINTENANCE, QUEUE_CALLBACKS)

app = Celery("hub")
# Read lazily, on first use of app.conf, so importing the app never reads settings.
app.config_from_object("hub.celeryconfig")
app.autodiscover_tasks()


class _Collector:
    """Garbage collection in a worker process (``worker_tuned``: only once tuned, so never in a
    web process or a caller running a task eagerly)."""

    worker_tuned = False
    young_collections = 0  # when the current task started


def _young_collections() -> int:
    return int(gc.get_stats()[0]["collections"])


@worker_init.connect
def _require_digest_keys(**_: object) -> None:
    """Refuse to start with digest keys that would let a suppressed address through. SystemExit,
    as Celery logs and ignores an exception raised by a signal handler."""
    from django.core.exceptions import ImproperlyConfigured

    from hub.contacts.checks import digest_keys_require

    try:
        digest_keys_require()
    except ImproperlyConfigured as exc:
        raise SystemExit(f"Refusing to start: {exc}") from exc


@worker_init.connect
def _preload_providers(**_: object) -> None:
    """In a worker's main process, before it forks its pool: import the provider modules and
    their SDKs, so the children share them (see ``backends_preload``). Connected before the
    collector is tuned, so they are frozen with the rest of the import graph."""
    from hub.providers.registry import backends_preload

    backends_preload()


@worker_process_init.connect
@worker_init.connect
def _tune_garbage_collection(**_: object) -> None:
    """Once a worker process has imported everything (Django, the apps, the provider SDKs),
    move those long-lived objects out of the collector's sight and collect young objects
    less often. Without this, every full collection walks the whole import graph again: on a
    batch of 500 sends, collection cost as much CPU as the rest of the dispatch."""
    collector_tune(WORKER_GC_THRESHOLD)
    _Collector.worker_tuned = True


@task_prerun.connect
def _note_young_collections(**_: object) -> None:
    _Collector.young_collections = _young_collections()


@task_postrun.connect
def _collect_after_a_batch(task: Any = None, **_: object) -> None:
    """After a task that allocated enough to trigger a young collection (a batch: fan-out or
    sends), collect everything. Its model instances, querysets and audit rows were alive
    during those young collections, so they were promoted to the oldest generation, where
    the ones in reference cycles (about 12 objects per fanned-out recipient) stay after the
    task until a full collection; CPython runs one only when those promoted objects reach a
    quarter of the oldest generation. Meanwhile the next batches allocate new memory beside
    them: in a 100,000-recipient broadcast each child grew from ~110 MB to ~150 MB. Collected
    when the task ends, the next batch reuses the same memory (children stayed at ~127 MB).
    With the import graph frozen, this walks only the objects made since: well under a
    millisecond. Tasks too small to have triggered a young collection skip it."""
    if not _Collector.worker_tuned or task is None or getattr(task.request, "is_eager", False):
        return
    if _young_collections() != _Collector.young_collections:
        gc.collect()


@task_prerun.connect
def _drop_broken_connections(task: Any = None, **_: object) -> None:
    """Database connections live across tasks (``CELERY_DB_REUSE_MAX``): before each task in a
    worker, close one that failed or outlived ``CONN_MAX_AGE``, as Django does between
    requests. Not for eager tasks, which run inside their caller's transaction."""
    if task is None or getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


@task_prerun.connect
def _stamp_worker_heartbeat(task: Any = None, **_: object) -> None:
    """Every task a worker starts is proof it still consumes from that queue (see
    ``hub.workers.liveness``). Our queues' routing keys are their names."""
    if task is None or getattr(task.request, "is_eager", False):
        return
    queue = (task.request.delivery_info or {}).get("routing_key")
    if queue and task.request.hostname:
        from hub.workers.liveness import worker_consumed_throttled

        worker_consumed_throttled(worker=task.request.hostname, queue=queue)


@worker_shutdown.connect
def _forget_worker_heartbeat(sender: Any = None, **_: object) -> None:
    """A worker stopped on purpose is not stale: only one that vanished without notice stays."""
    from hub.workers.liveness import worker_forget

    worker_forget(worker=sender.hostname)
