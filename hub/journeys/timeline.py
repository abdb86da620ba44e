"""A run's timeline: each entry is a row for the API and admin and a record in the audit log.

Entries are gathered while a run advances and written together (one insert, one audit append)
in the transaction that advanced it, so the timeline and the trail never disagree."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from audit.rows import rows_insert
from audit.services import Actor, AuditEntry, audit_append_many
from hub.journeys.models import JourneyRun, JourneyRunEntry

# Written with COPY: the entries of a batch of runs in one statement.
ENTRY_COLUMNS = ("run", "kind", "step", "detail", "at")


class Timeline:
    """Entries of one or more runs, written by ``flush`` (call it before the transaction ends).

    Details hold ids, step ids, outcomes and the author's own expressions, never event data or
    addresses (they go to the audit log, which must hold no raw personal data)."""

    def __init__(self, *, actor: Actor, now: datetime) -> None:
        self.actor = actor
        self.now = now
        self._entries: list[JourneyRunEntry] = []
        self._audit: list[AuditEntry] = []

    def add(self, run: JourneyRun, kind: str, step: str = "", **detail: Any) -> None:
        self._entries.append(JourneyRunEntry(run=run, kind=kind, step=step, detail=detail, at=self.now))
        payload: Mapping[str, Any] = {
            "journey": run.journey.key,
            "version": run.version.number,
            "contact": run.contact_id,
            "step": step,
            **detail,
        }
        self._audit.append(AuditEntry(self.actor, f"journey_run.{kind}", "journey_run", str(run.id), payload))

    def flush(self) -> None:
        if self._entries:
            rows_insert(
                JourneyRunEntry,
                ENTRY_COLUMNS,
                ((e.run_id, e.kind, e.step, e.detail, e.at) for e in self._entries),
            )
            audit_append_many(self._audit)
        self._entries, self._audit = [], []
