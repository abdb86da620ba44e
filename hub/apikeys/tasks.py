"""Celery tasks for API keys (thin)."""

from __future__ import annotations

from celery import shared_task

from hub.apikeys.services import idempotency_records_purge


@shared_task(name="hub.apikeys.tasks.purge_idempotency_records")
def purge_idempotency_records() -> int:
    return idempotency_records_purge()
