"""Reading the audit trail, and proving it is whole."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.db import connection

from audit.models import AuditChainHead, AuditCheckpoint, AuditRecord
from audit.services import GENESIS_HASH, record_canonical

# PostgreSQL checks in one pass, in C, that every row's columns still say what its hashed
# canonical form says; the Python walk then only has to hash the canonical text.
_PG_FIRST_COLUMN_MISMATCH = """
SELECT min(seq) FROM audit_auditrecord
WHERE NULLIF(canonical, '')::jsonb IS DISTINCT FROM jsonb_build_object(
    'seq', seq,
    'at', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'actor', jsonb_build_array(actor_type, actor_id),
    'action', action,
    'object', jsonb_build_array(object_type, object_id),
    'payload', payload,
    'prev', prev_hash
)
"""


@dataclass(frozen=True)
class ChainReport:
    """The outcome of a chain check: how many records were read and the first bad one."""

    checked: int
    broken_seq: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


def _first_column_mismatch(chunk_size: int) -> int | None:
    """The first record whose columns no longer match its canonical (hashed) form."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_PG_FIRST_COLUMN_MISMATCH)
            row = cursor.fetchone()
        return int(row[0]) if row and row[0] is not None else None
    for record in AuditRecord.objects.order_by("seq").iterator(chunk_size=chunk_size):
        if record_canonical(record) != record.canonical:
            return record.seq
    return None


def audit_chain_verify(*, chunk_size: int = 20000) -> ChainReport:
    """Recompute every hash in sequence order and name the first record that does not hold.

    A record is broken if it is missing (a gap, or a tail cut off below the chain head or a
    checkpoint), if its hash is not SHA-256 of its canonical form, if its ``prev_hash`` is not
    the hash of the record before, or if its columns differ from its canonical form.
    """
    mismatch = _first_column_mismatch(chunk_size)
    checkpoints = dict(AuditCheckpoint.objects.values_list("seq", "hash"))
    expected_prev = GENESIS_HASH
    expected_seq = 1
    sha256 = hashlib.sha256
    rows = AuditRecord.objects.order_by("seq").values_list("seq", "canonical", "prev_hash", "hash")
    if mismatch is not None:
        rows = rows.filter(seq__lt=mismatch)
    for seq, canonical, prev_hash, digest in rows.iterator(chunk_size=chunk_size):
        if seq != expected_seq:
            return ChainReport(expected_seq - 1, expected_seq, f"record #{expected_seq} is missing")
        if prev_hash != expected_prev:
            return ChainReport(seq - 1, seq, "its prev_hash does not match the record before")
        if sha256(canonical.encode()).hexdigest() != digest:
            return ChainReport(seq - 1, seq, "its content does not match its hash")
        if seq in checkpoints and checkpoints[seq] != digest:
            return ChainReport(seq - 1, seq, "its hash differs from the checkpoint taken of it")
        expected_prev = digest
        expected_seq += 1
    checked = expected_seq - 1
    if mismatch is not None:
        return ChainReport(checked, mismatch, "its columns differ from the content its hash covers")
    head = AuditChainHead.objects.filter(id=1).values_list("seq", flat=True).first() or 0
    last_known = max([head, *checkpoints])
    if last_known > checked:
        return ChainReport(
            checked,
            checked + 1,
            f"record #{checked + 1} is missing: the chain head or a checkpoint shows "
            f"#{last_known} existed (the trail was cut short)",
        )
    return ChainReport(checked)


def audit_checkpoint_latest() -> AuditCheckpoint | None:
    """The most recent checkpoint of the chain head, if any."""
    return AuditCheckpoint.objects.order_by("-created_at", "-id").first()


def audit_records_for(*, object_type: str, object_ids: list[str]) -> list[AuditRecord]:
    """Every record about these objects, in chain order."""
    if not object_ids:
        return []
    return list(AuditRecord.objects.filter(object_type=object_type, object_id__in=object_ids).order_by("seq"))
