"""A run's timeline: each entry is a row for the API and admin, and the entries a transaction
wrote for one run are one record in the audit log (``journey_run.timeline``).

Entries are gathered while runs advance and written with their audit records, and with the
transaction's new runs and events (one statement for a few rows, else a COPY a table), in the
transaction that advanced them, so the timeline and the trail never disagree."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import models

from audit.models import AuditRecord
from audit.services import RECORD_COLUMNS, Actor, AuditEntry, audit_rows
from hub.journeys.bulk import rows_create_together, rows_values
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
        # New rows (runs, events) written with the entries, in one statement if few.
        self._new: list[tuple[type[models.Model], Sequence[models.Model]]] = []

    def create(self, model: type[models.Model], rows: Sequence[models.Model]) -> None:
        """Insert ``rows`` (new instances, see ``rows_create``) when the timeline is flushed,
        with its entries: nothing in the transaction may read them before (the rows that
        refer to them are checked at commit)."""
        if rows:
            self._new.append((model, rows))

    def add(self, run: JourneyRun, kind: str, step: str = "", **detail: Any) -> None:
        self._rows.append((run.id, kind, step, detail, self.now))
        entries = self._runs.setdefault(run.id, (run, []))[1]
        entries.append({"kind": kind, "step": step, **detail})

    def flush(self, *, seqs: Sequence[int] = ()) -> None:
        """Write the new rows, the entries and their audit records (one statement for a few;
        ``seqs``: audit record numbers already drawn, see ``audit.services.audit_rows``)."""
        new = [(model, *rows_values(model, rows)) for model, rows in self._new]
        records = audit_rows(
            (
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
            ),
            seqs=seqs,
        )
        rows_create_together(
            [*new, (JourneyRunEntry, ENTRY_COLUMNS, self._rows), (AuditRecord, RECORD_COLUMNS, records)]
        )
        self._rows, self._runs, self._new = [], {}, []
