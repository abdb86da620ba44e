"""Celery tasks for status callbacks (thin)."""

from __future__ import annotations

from uuid import UUID

from celery import shared_task

from hub.callbacks import services


@shared_task(name="hub.callbacks.tasks.deliver_callbacks")
def deliver_callbacks(delivery_ids: list[str]) -> int:
    return services.callbacks_deliver(delivery_ids=[UUID(i) for i in delivery_ids])


@shared_task(name="hub.callbacks.tasks.deliver_due_callbacks")
def deliver_due_callbacks() -> int:
    due = services.callbacks_due()
    for start in range(0, len(due), 50):
        deliver_callbacks.delay([str(i) for i in due[start : start + 50]])
    return len(due)
