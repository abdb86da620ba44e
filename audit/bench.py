"""Benchmark helpers for the audit log: the sequencer's throughput (target: 20,000 records/s or
more), ``verify_audit``'s (target: 200,000 records/s or more), and a sampler of the lock waits
audit writes cause in other transactions (there should be none: writers share no lock)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from django.db import connection

from audit.models import AuditRecord
from audit.sequencer import audit_sequence
from audit.services import Actor, AuditEntry, audit_append_many
from audit.verify import audit_log_verify


@dataclass(frozen=True)
class VerifyBench:
    records: int
    seconds: float
    ok: bool
    # Records the sequencer put into the log first (those still pending), and how long it took.
    sequenced: int = 0
    sequence_seconds: float = 0.0

    @property
    def records_per_second(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0

    @property
    def sequenced_per_second(self) -> float:
        return self.sequenced / self.sequence_seconds if self.sequence_seconds > 0 else 0.0


def bench_audit_fill(*, records: int, batch_size: int = 5000) -> int:
    """Append synthetic records until the trail holds at least ``records``; returns how many
    were added. Payloads look like a status change (no personal data)."""
    missing = records - AuditRecord.objects.count()
    added = 0
    while added < missing:
        size = min(batch_size, missing - added)
        audit_append_many(
            AuditEntry(
                Actor.system(),
                "message.status_changed",
                "message",
                f"bench-{added + i}",
                {"from": "sending", "to": "sent", "source": "bench", "provider": "sandbox-sms"},
            )
            for i in range(size)
        )
        added += size
    return added


def bench_sequence_all(*, batch_size: int = 50_000) -> tuple[int, float]:
    """Sequence every pending record; returns how many and the seconds it took."""
    started = time.perf_counter()
    total = 0
    while True:
        run = audit_sequence(batch_size=batch_size, max_batches=1_000)
        total += run.added
        if run.added == 0 and not run.busy:
            return total, time.perf_counter() - started
        if run.busy:
            time.sleep(0.1)


def bench_verify_audit(*, records: int = 200_000, processes: int = 2) -> VerifyBench:
    """Make sure ``records`` exist and are in the log (timing the sequencer on those that were
    not), then time one full verification of the log (the contents checked in a process of
    their own beside the tree, as ``verify_audit`` does)."""
    bench_audit_fill(records=records)
    sequenced, sequence_seconds = bench_sequence_all()
    started = time.perf_counter()
    report = audit_log_verify(processes=processes)
    elapsed = time.perf_counter() - started
    return VerifyBench(
        records=report.checked,
        seconds=elapsed,
        ok=report.ok,
        sequenced=sequenced,
        sequence_seconds=sequence_seconds,
    )


# Backends waiting for a lock while running a statement on an audit table (the old design's
# chain-head row lock showed up here under load), and all lock waits for comparison.
_LOCK_WAITS = """
SELECT count(*) FILTER (WHERE query ILIKE '%%audit%%'), count(*)
FROM pg_stat_activity
WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()
"""


@dataclass
class LockWaits:
    """pg_stat_activity sampled every ``interval`` seconds in a thread of its own: the number
    of samples taken, and the backends found waiting for a lock, summed over the samples."""

    interval: float = 0.02
    samples: int = 0
    audit_waits: int = 0
    all_waits: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        try:
            with connection.cursor() as cursor:
                while not self._stop.is_set():
                    cursor.execute(_LOCK_WAITS)
                    audit, every = cursor.fetchone()
                    self.samples += 1
                    self.audit_waits += audit
                    self.all_waits += every
                    time.sleep(self.interval)
        finally:
            connection.close()
