"""A run's timeline: each entry is a row for the API and admin, and the entries a transaction
wrote for one run are one record in the audit log (``journey_run.timeline``).

Entries are gathered while runs advance and written together (one COPY of the rows, one audit
append) in the transaction that advanced them, so the timeline and the trail never disagree."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from audit.rows import rows_insert
from audit.services import Actor, AuditEntry, audit_append_many
from hub.journeys.models import JourneyRun, JourneyRunEntry

# Written with COPY: the entries of a batch of runs in one statement.
ENTRY_COLUMNS = ("run", "kind", "step", "detail", "at")
AUDIT_ACTION = "journey_run.timeline"


class Timeline:
    """Entries of one or more runs, written by ``flush`` (call it before the transaction ends).

    Details hold ids, step ids, outcomes and the author's own expressions, never event data or
    addresses (they go to the audit log, which must hold no raw personal data)."""

    def __init__(self, *, actor: Actor, now: datetime) -> None:
        self.actor = actor
        self.now = now
        self._rows: list[tuple[UUID, str, str, dict[str, Any], datetime]] = []
        # Per run, in the order first touched: the run and its entries for the audit record.
        self._runs: dict[UUID, tuple[JourneyRun, list[dict[str, Any]]]] = {}

    def add(self, run: JourneyRun, kind: str, step: str = "", **detail: Any) -> None:
        self._rows.append((run.id, kind, step, detail, self.now))
        entries = self._runs.setdefault(run.id, (run, []))[1]
        entries.append({"kind": kind, "step": step, **detail})

    def flush(self) -> None:
        if self._rows:
            rows_insert(JourneyRunEntry, ENTRY_COLUMNS, self._rows)
            audit_append_many(
                AuditEntry(
                    self.actor,
                    AUDIT_ACTION,
                    "journey_run",
                    str(run.id),
                    {
                        "journey": run.journey.key,
                        "version": run.version.number,
                        "contact": run.contact_id,
                        "entries": entries,
                    },
                )
                for run, entries in self._runs.values()
            )
        self._rows, self._runs = [], {}
