"""Periodic workspace jobs (beat): thin shells around the services."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from hub.workspace.retention import retention_purge


@shared_task(name="hub.workspace.tasks.purge_expired_personal_data")
def purge_expired_personal_data() -> dict[str, int]:
    """Nightly: remove personal data past each channel's retention period."""
    return retention_purge(now=timezone.now())
