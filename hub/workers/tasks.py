"""The heartbeat task beat puts on every queue (``hub.workers.liveness``)."""

from __future__ import annotations

from celery import shared_task

from hub.workers.liveness import heartbeats_forget_old


@shared_task(name="hub.workers.tasks.worker_heartbeat")
def worker_heartbeat() -> int:
    """Being started is the heartbeat: the ``task_prerun`` hook in ``hub.celery`` stamps the
    worker and queue for every task, this one included. It also drops the stamps of workers
    gone for a day, so they stop counting as stale."""
    return heartbeats_forget_old()
