"""Reading the audit trail, and proving it is whole."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.db import connection

from audit.canonical import GENESIS_HASH, PG_CANONICAL_SQL, canonical_text_v1
from audit.models import AuditChainHead, AuditCheckpoint, AuditRecord
from audit.services import record_canonical

# PostgreSQL rebuilds each record's canonical text from its columns, hashes it and checks each
# link, all in C, and returns only the first record that does not hold (from ``after`` on).
_PG_FIRST_ANOMALY = f"""
SELECT seq, prev_seq, prev_hash = expected_prev AS linked, hash_ok, hash,
       EXISTS (SELECT 1 FROM audit_auditcheckpoint c WHERE c.seq = s.seq AND c.hash <> s.hash) AS off_checkpoint
FROM (
    SELECT seq, prev_hash, hash,
           hash = encode(pg_catalog.sha256(convert_to({PG_CANONICAL_SQL}, 'UTF8')), 'hex') AS hash_ok,
           lag(hash, 1, %(prev)s) OVER w AS expected_prev,
           lag(seq, 1, %(after)s) OVER w AS prev_seq
    FROM audit_auditrecord
    WHERE seq > %(after)s
    WINDOW w AS (ORDER BY seq)
) s
WHERE NOT hash_ok OR prev_hash <> expected_prev OR seq <> prev_seq + 1
   OR EXISTS (SELECT 1 FROM audit_auditcheckpoint c WHERE c.seq = s.seq AND c.hash <> s.hash)
ORDER BY seq
LIMIT 1
"""  # noqa: S608 - constants only; values are parameters


@dataclass(frozen=True)
class ChainReport:
    """The outcome of a chain check: how many records were read and the first bad one."""

    checked: int
    broken_seq: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


def _verify_in_postgresql() -> ChainReport | None:
    """The first broken record found by the database, or None (and how many records exist)."""
    after, prev = 0, GENESIS_HASH
    with connection.cursor() as cursor:
        while True:
            cursor.execute(_PG_FIRST_ANOMALY, {"after": after, "prev": prev})
            row = cursor.fetchone()
            if row is None:
                return None
            seq, prev_seq, linked, hash_ok, digest, off_checkpoint = row
            if seq != prev_seq + 1:
                return ChainReport(prev_seq, prev_seq + 1, f"record #{prev_seq + 1} is missing")
            if not linked:
                return ChainReport(seq - 1, seq, "its prev_hash does not match the record before")
            if off_checkpoint:
                return ChainReport(seq - 1, seq, "its hash differs from the checkpoint taken of it")
            if not hash_ok and not _matches_v1(seq, digest):
                return ChainReport(seq - 1, seq, "its content does not match its hash")
            after, prev = seq, digest  # a record hashed in the v1 form: go on after it


def _verify_in_python(checkpoints: dict[int, str], chunk_size: int) -> ChainReport | None:
    """The same checks with every hash computed here, from rows read through the ORM."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    sha256 = hashlib.sha256
    for record in AuditRecord.objects.order_by("seq").iterator(chunk_size=chunk_size):
        seq, digest = record.seq, record.hash
        if seq != expected_seq:
            return ChainReport(expected_seq - 1, expected_seq, f"record #{expected_seq} is missing")
        if record.prev_hash != expected_prev:
            return ChainReport(seq - 1, seq, "its prev_hash does not match the record before")
        if sha256(record_canonical(record).encode()).hexdigest() != digest and not _matches_v1(seq, digest):
            return ChainReport(seq - 1, seq, "its content does not match its hash")
        if seq in checkpoints and checkpoints[seq] != digest:
            return ChainReport(seq - 1, seq, "its hash differs from the checkpoint taken of it")
        expected_prev = digest
        expected_seq += 1
    return None


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


def audit_chain_verify(*, in_python: bool = False, chunk_size: int = 5000) -> ChainReport:
    """Recompute every hash in sequence order and name the first record that does not hold.

    A record is broken if it is missing (a gap, or a tail cut off below the chain head or a
    checkpoint), if its hash is not SHA-256 of its canonical form rebuilt from its columns
    (any column edited), if its ``prev_hash`` is not the hash of the record before, or if its
    hash differs from a checkpoint taken of it. On PostgreSQL the database does the hashing
    (fast); ``in_python`` recomputes every hash in this process instead (independent of the
    database's functions, slower). Other databases always use Python.
    """
    # Read before the records: a record appended while we check is then never mistaken for a
    # record the head or a checkpoint knows of but the check did not see.
    head = AuditChainHead.objects.filter(id=1).values_list("seq", flat=True).first() or 0
    checkpoints = dict(AuditCheckpoint.objects.values_list("seq", "hash"))
    last = AuditRecord.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    if connection.vendor == "postgresql" and not in_python:
        broken = _verify_in_postgresql()
    else:
        broken = _verify_in_python(checkpoints, chunk_size)
    if broken is not None:
        return broken
    checked = last  # no gap was found, so records 1..last all exist and hold
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
