"""Periodic audit jobs (beat): a thin shell around the services."""

from __future__ import annotations

from celery import shared_task

from audit.heads import audit_tree_head_due, audit_tree_head_write
from audit.sequencer import audit_sequence


@shared_task(name="audit.tasks.sequence_audit_log")
def sequence_audit_log() -> int:
    """Put committed records into the Merkle log, and sign a tree head when one is due;
    returns how many records were added."""
    run = audit_sequence()
    if not run.busy and audit_tree_head_due():
        audit_tree_head_write()
    return run.added
