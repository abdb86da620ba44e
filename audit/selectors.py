"""Reading the audit trail, and the hash chain check of records written before the Merkle log.

Records written before migration 0004 are chained (each names its predecessor's hash) and the
old checkpoints copied the chain's head; ``audit_chain_verify`` still checks that chain (``verify_audit
--legacy-chain``). The log as a whole, those records included as its first leaves, is checked by
audit.verify."""

from __future__ import annotations

import hashlib
import json
import os
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from audit.canonical import GENESIS_HASH, PG_TIME_SQL, canonical_text_v1, encode_basestring, record_fields
from audit.models import AuditCheckpoint, AuditLeaf, AuditRecord, AuditTreeHead, AuditTreeState
from audit.services import record_canonical

# The columns as text, in sequence order: PostgreSQL prints the time and the payload exactly
# as the canonical form has them, so Python only assembles and hashes (no ORM rows, no JSON
# parsing), while the database produces the rows on another core.
_PG_ROWS = f"""
SELECT seq, {PG_TIME_SQL}, actor_type, actor_id, action, object_type, object_id, payload::text, prev_hash, hash
FROM audit_auditrecord WHERE prev_hash <> '' ORDER BY seq
"""  # noqa: S608 - constants only


@dataclass(frozen=True)
class ChainReport:
    """The outcome of a chain check: how many records were read and the first bad one."""

    checked: int
    broken_seq: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


def _rows_postgresql(chunk_size: int) -> Iterator[tuple[int, str, str, str]]:
    """(seq, canonical text, prev_hash, hash) from a server-side cursor over text columns."""
    s = encode_basestring
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(_PG_ROWS)
        while rows := cursor.fetchmany(chunk_size):
            # canonical_from_text, inlined: a call with nine keyword arguments per row would
            # cost more than the hash.
            for seq, at, actor_type, actor_id, action, object_type, object_id, payload, prev, digest in rows:
                text = (
                    f'{{"action":{s(action)},"actor":[{s(actor_type)},{s(actor_id)}],"at":"{at}",'
                    f'"object":[{s(object_type)},{s(object_id)}],"payload":{payload},"prev":{s(prev)},"seq":{seq}}}'
                )
                yield seq, text, prev, digest


def _rows_orm(chunk_size: int) -> Iterator[tuple[int, str, str, str]]:
    for record in AuditRecord.objects.exclude(prev_hash="").order_by("seq").iterator(chunk_size=chunk_size):
        yield record.seq, record_canonical(record), record.prev_hash, record.hash


def _checkpoints() -> dict[int, set[str]]:
    """Every checkpoint, from the table and from ``HUB_AUDIT_CHECKPOINT_FILE`` if there is one:
    sequence number → the hashes recorded for it (more than one means one of them is forged)."""
    found: dict[int, set[str]] = defaultdict(set)
    for seq, digest in AuditCheckpoint.objects.values_list("seq", "hash"):
        found[seq].add(digest)
    path = getattr(settings, "HUB_AUDIT_CHECKPOINT_FILE", "")
    if path and os.path.exists(path):
        with open(path, encoding="utf-8") as stream:
            for line in stream:
                if line.strip():
                    entry = json.loads(line)
                    found[int(entry["seq"])].add(str(entry["hash"]))
    return dict(found)


def _walk(rows: Iterator[tuple[int, str, str, str]], checkpoints: dict[int, set[str]]) -> ChainReport | None:
    """The first record that does not hold, or None."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    sha256 = hashlib.sha256
    for seq, canonical, prev_hash, digest in rows:
        if seq != expected_seq:
            return ChainReport(expected_seq - 1, expected_seq, f"record #{expected_seq} is missing")
        if prev_hash != expected_prev:
            return ChainReport(seq - 1, seq, "its prev_hash does not match the record before")
        if sha256(canonical.encode()).hexdigest() != digest and not _matches_v1(seq, digest):
            return ChainReport(seq - 1, seq, "its content does not match its hash")
        if seq in checkpoints and checkpoints[seq] != {digest}:
            return ChainReport(seq - 1, seq, "its hash differs from the checkpoint taken of it")
        expected_prev = digest
        expected_seq += 1
    return None


def _matches_v1(seq: int, digest: str) -> bool:
    """Whether a record written before the v2 form still hashes right in the v1 form."""
    record = AuditRecord.objects.filter(seq=seq).first()
    if record is None:
        return False
    text = canonical_text_v1(**record_fields(record))
    return hashlib.sha256(text.encode()).hexdigest() == digest


def audit_chain_verify(*, through_orm: bool = False, chunk_size: int = 5000) -> ChainReport:
    """Recompute the hash chain of the records written before the Merkle log, in sequence
    order, and name the first record that does not hold.

    A record is broken if it is missing (a gap, or a tail cut off below a checkpoint), if its
    hash is not SHA-256 of its canonical form rebuilt from its columns (any column edited), if
    its ``prev_hash`` is not the hash of the record before, or if its hash differs from a
    checkpoint taken of it. On PostgreSQL rows are read as text from a server-side cursor
    (fast); ``through_orm`` reads model rows instead, as on every other database.
    """
    checkpoints = _checkpoints()
    chained = AuditRecord.objects.exclude(prev_hash="")
    last = chained.order_by("-seq").values_list("seq", flat=True).first() or 0
    fast = connection.vendor == "postgresql" and not through_orm
    broken = _walk(_rows_postgresql(chunk_size) if fast else _rows_orm(chunk_size), checkpoints)
    if broken is not None:
        return broken
    checked = last  # no gap was found, so records 1..last all exist and hold
    last_known = max([0, *checkpoints])
    if last_known > checked:
        return ChainReport(
            checked,
            checked + 1,
            f"record #{checked + 1} is missing: a checkpoint shows #{last_known} existed (the trail was cut short)",
        )
    return ChainReport(checked)


def audit_checkpoint_latest() -> AuditCheckpoint | None:
    """The most recent checkpoint of the chain head, if any."""
    return AuditCheckpoint.objects.order_by("-created_at", "-id").first()


def audit_records_for(*, object_type: str, object_ids: list[str]) -> list[AuditRecord]:
    """Every record about these objects, in record-number order."""
    if not object_ids:
        return []
    return list(AuditRecord.objects.filter(object_type=object_type, object_id__in=object_ids).order_by("seq"))


# What a home page shows of the log, read without counting it: the newest head and tree state
# by their keys, the records waiting behind the sequencer from its txid index (at most this many
# looked at), the last verification from the (action, created_at) index.
PENDING_LOOKED_AT = 1000
VERIFIED_ACTION = "audit.log_verified"


@dataclass(frozen=True)
class LogState:
    head: AuditTreeHead | None
    pending: int  # records waiting for the sequencer, up to PENDING_LOOKED_AT
    pending_more: bool  # more than PENDING_LOOKED_AT are waiting
    lag_seconds: float  # age of the oldest waiting record (0 when none waits)
    last_verification: AuditRecord | None


def audit_log_state() -> LogState:
    """The log's state in four indexed reads, however long the log: the latest signed tree head,
    the sequencer's lag (records committed but not yet in the tree, and how long the oldest has
    waited), and the last verification (who ran it, when, and what it found)."""
    head = AuditTreeHead.objects.order_by("-id").first()
    state = AuditTreeState.objects.order_by("-tree_size").values("horizon", "round_horizon").first()
    horizon = min(state["horizon"], state["round_horizon"]) if state else 0
    waiting = list(
        # Records without a transaction id (written before ids were kept, or on SQLite, which
        # has none) wait too until they have a leaf.
        AuditRecord.objects.filter(Q(txid__gte=horizon) | Q(txid__isnull=True))
        .filter(~Exists(AuditLeaf.objects.filter(record_id=OuterRef("seq"))))
        .order_by("txid", "seq")
        .values_list("created_at", flat=True)[: PENDING_LOOKED_AT + 1]
    )
    oldest: datetime | None = min(waiting) if waiting else None
    verified = AuditRecord.objects.filter(action=VERIFIED_ACTION).order_by("-created_at").first()
    return LogState(
        head=head,
        pending=min(len(waiting), PENDING_LOOKED_AT),
        pending_more=len(waiting) > PENDING_LOOKED_AT,
        lag_seconds=max((timezone.now() - oldest).total_seconds(), 0.0) if oldest else 0.0,
        last_verification=verified,
    )
