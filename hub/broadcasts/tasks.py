"""Celery tasks for broadcasts (thin)."""

from __future__ import annotations

from uuid import UUID

from celery import shared_task

from hub.broadcasts import services


@shared_task(name="hub.broadcasts.tasks.release_broadcast")
def release_broadcast(broadcast_id: str) -> int:
    return services.broadcast_release(broadcast_id=UUID(broadcast_id))


@shared_task(name="hub.broadcasts.tasks.release_broadcasts")
def release_broadcasts() -> int:
    running = services.broadcasts_start_due()
    return sum(services.broadcast_release(broadcast_id=i) for i in running)
