"""Reading the audit trail."""

from __future__ import annotations

from dataclasses import dataclass

from audit.models import AuditRecord
from audit.services import GENESIS_HASH, record_hash


@dataclass(frozen=True)
class ChainReport:
    """The outcome of a chain check: how many records were read and the first bad one."""

    checked: int
    broken_seq: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


def audit_chain_verify(*, chunk_size: int = 5000) -> ChainReport:
    """Recompute every hash in sequence order; stop at the first record that does not hold."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    for record in AuditRecord.objects.order_by("seq").iterator(chunk_size=chunk_size):
        if record.seq != expected_seq:
            return ChainReport(checked, expected_seq, f"record #{expected_seq} is missing")
        if record.prev_hash != expected_prev:
            return ChainReport(checked, record.seq, "its prev_hash does not match the record before")
        if record_hash(record) != record.hash:
            return ChainReport(checked, record.seq, "its content does not match its hash")
        expected_prev = record.hash
        expected_seq += 1
        checked += 1
    return ChainReport(checked)
