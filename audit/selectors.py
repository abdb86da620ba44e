"""Reading the audit trail, and proving it is whole."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import connection, transaction

from audit.canonical import GENESIS_HASH, PG_CANONICAL_SQL, canonical_text_v1
from audit.models import AuditChainHead, AuditCheckpoint, AuditRecord
from audit.services import record_canonical

# PostgreSQL builds each record's canonical text from its columns (in C); Python hashes it.
_PG_CANONICAL_ROWS = f"SELECT seq, {PG_CANONICAL_SQL}, prev_hash, hash FROM audit_auditrecord ORDER BY seq"  # noqa: S608 - constants only


@dataclass(frozen=True)
class ChainReport:
    """The outcome of a chain check: how many records were read and the first bad one."""

    checked: int
    broken_seq: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


def _canonical_rows(chunk_size: int) -> Iterator[tuple[int, str, str, str]]:
    """(seq, canonical text rebuilt from the columns, prev_hash, hash), in sequence order."""
    if connection.vendor == "postgresql":
        with transaction.atomic(), connection.chunked_cursor() as cursor:
            cursor.execute(_PG_CANONICAL_ROWS)
            while rows := cursor.fetchmany(chunk_size):
                yield from rows
        return
    for record in AuditRecord.objects.order_by("seq").iterator(chunk_size=chunk_size):
        yield record.seq, record_canonical(record), record.prev_hash, record.hash


def _matches_v1(seq: int, digest: str) -> bool:
    """Whether a record written before the v2 form still hashes right in the v1 form."""
    record = AuditRecord.objects.filter(seq=seq).first()
    if record is None:
        return False
    text = canonical_text_v1(
        seq=record.seq,
        created_at=record.created_at,
        actor_type=record.actor_type,
        actor_id=record.actor_id,
        action=record.action,
        object_type=record.object_type,
        object_id=record.object_id,
        payload=record.payload,
        prev_hash=record.prev_hash,
    )
    return hashlib.sha256(text.encode()).hexdigest() == digest


def audit_chain_verify(*, chunk_size: int = 20000) -> ChainReport:
    """Recompute every hash in sequence order and name the first record that does not hold.

    A record is broken if it is missing (a gap, or a tail cut off below the chain head or a
    checkpoint), if its hash is not SHA-256 of its canonical form rebuilt from its columns
    (any column edited), if its ``prev_hash`` is not the hash of the record before, or if its
    hash differs from a checkpoint taken of it.
    """
    checkpoints = dict(AuditCheckpoint.objects.values_list("seq", "hash"))
    expected_prev = GENESIS_HASH
    expected_seq = 1
    sha256 = hashlib.sha256
    for seq, canonical, prev_hash, digest in _canonical_rows(chunk_size):
        if seq != expected_seq:
            return ChainReport(expected_seq - 1, expected_seq, f"record #{expected_seq} is missing")
        if prev_hash != expected_prev:
            return ChainReport(seq - 1, seq, "its prev_hash does not match the record before")
        if sha256(canonical.encode()).hexdigest() != digest and not _matches_v1(seq, digest):
            return ChainReport(seq - 1, seq, "its content does not match its hash")
        if seq in checkpoints and checkpoints[seq] != digest:
            return ChainReport(seq - 1, seq, "its hash differs from the checkpoint taken of it")
        expected_prev = digest
        expected_seq += 1
    checked = expected_seq - 1
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
