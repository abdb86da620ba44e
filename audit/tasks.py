"""Periodic audit jobs (beat): a thin shell around the services."""

from __future__ import annotations

from celery import shared_task

from audit.services import audit_checkpoint_write


@shared_task(name="audit.tasks.write_audit_checkpoint")
def write_audit_checkpoint() -> int:
    """Copy the chain head into the checkpoint table; returns the sequence number copied."""
    return audit_checkpoint_write().seq
