"""Timing ``verify_audit`` for the benchmark command (target: 200,000 records/s or more)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from audit.models import AuditRecord
from audit.selectors import audit_chain_verify
from audit.services import Actor, AuditEntry, audit_append_many


@dataclass(frozen=True)
class VerifyBench:
    records: int
    seconds: float
    ok: bool

    @property
    def records_per_second(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0


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


def bench_verify_audit(*, records: int = 200_000) -> VerifyBench:
    """Make sure ``records`` exist, then time one full verification of the chain."""
    bench_audit_fill(records=records)
    started = time.perf_counter()
    report = audit_chain_verify()
    elapsed = time.perf_counter() - started
    return VerifyBench(records=report.checked, seconds=elapsed, ok=report.ok)
