"""The sequencer: puts committed audit records into the Merkle log, in batches, after the fact.

Writers only insert records (audit.services); this gives each committed record without a leaf
the next leaf index, in record-number order within a batch, and stores what proofs and the next
batch need: the leaf hashes, the hashes of complete subtrees at every 8th level (AuditNode) and
the tree's frontier and root (AuditTreeState). It only ever INSERTs, as the hub's database role
may only insert into and read the audit tables.

One sequencer runs at a time (a PostgreSQL advisory lock, held by the batch's transaction); a
batch that fails or is cut short by a crash rolls back whole, and a second sequencer finds the
lock taken and does nothing, so running it twice, or again after a crash, is safe.

Finding pending records without scanning the whole log: every record carries the id of the
transaction that wrote it (``txid``). Transactions older than the snapshot's ``xmin`` have all
ended, so their records are either visible now or never will be. A *round* of batches starts by
noting that xmin, walks the records written by transactions from the previous round's xmin on
(by record number, ``after_seq``), and when it has seen them all, the next round starts from the
xmin this round noted. A record committed late by a long transaction has a txid at or above the
xmin noted while it ran, so the next round finds it.

A round walks its records in the order of the index on (``txid``, ``seq``), from the last one
the previous batch took (``after_seq``, whose txid is looked up): each batch reads the next
records of that index and probes the leaves' index for each, so its cost does not grow with the
log or with the records still waiting (reading them by record number instead made PostgreSQL
sort every waiting record, and anti-join against every leaf, in every batch). Within a batch the
records become leaves in record-number order. Records written without a txid (by hand) are
walked last, by record number.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from audit.canonical import PG_TIME_SQL, TIME_FORMAT, encode_basestring, jsonb_text
from audit.merkle import Frontier
from audit.models import AuditLeaf, AuditNode, AuditRecord, AuditTreeState
from audit.rows import rows_insert

# Levels whose complete subtrees are stored (every 8th: 256 hashes at most make the next one).
TILE_LEVELS = frozenset(range(8, 64, 8))
# pg_advisory_xact_lock key: "audit sequencer".
SEQUENCER_LOCK = 0x5EC0_A0D1

# The records of transactions from %(horizon)s on that have no leaf yet, after the walk's
# position (%(after_txid)s, %(after_seq)s), as the text their canonical form is built from (see
# audit.selectors); then those written without a txid (ordered as the index is, so that it is
# read from its NULLs, not the whole table by number). One index range scan each (no sort), and
# one probe of the leaves' record_id index per record.
_COLUMNS = f"""r.seq, {PG_TIME_SQL},
       r.actor_type, r.actor_id, r.action, r.object_type, r.object_id, r.payload::text, r.prev_hash"""
_PENDING = f"""
SELECT {_COLUMNS}
FROM audit_auditrecord r
WHERE r.txid >= %(horizon)s AND (r.txid, r.seq) > (%(after_txid)s, %(after_seq)s)
  AND NOT EXISTS (SELECT 1 FROM audit_auditleaf l WHERE l.record_id = r.seq)
ORDER BY r.txid, r.seq
LIMIT %(limit)s
"""  # noqa: S608 - constants only
_PENDING_UNTRACKED = f"""
SELECT {_COLUMNS}
FROM audit_auditrecord r
WHERE r.txid IS NULL AND r.seq > %(after_seq)s
  AND NOT EXISTS (SELECT 1 FROM audit_auditleaf l WHERE l.record_id = r.seq)
ORDER BY r.txid, r.seq
LIMIT %(limit)s
"""  # noqa: S608 - constants only
_PLAN = (
    "SET LOCAL jit = off; SET LOCAL enable_sort = off; SET LOCAL enable_hashjoin = off; "
    "SET LOCAL enable_mergejoin = off; SET LOCAL enable_seqscan = off; SET LOCAL max_parallel_workers_per_gather = 0"
)

# This transaction's id, how many others of this database hold one, and the records there are.
_ALONE = """
SELECT pg_current_xact_id()::text::bigint,
       (SELECT count(*) FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL),
       (SELECT count(*) FROM audit_auditrecord)
"""


@dataclass(frozen=True)
class SequencerRun:
    """What one run did: leaves added, the tree's size after it, and whether another
    sequencer held the lock (then nothing was done)."""

    added: int
    tree_size: int
    busy: bool = False


@dataclass
class _Position:
    size: int
    frontier: list[bytes]
    horizon: int
    round_horizon: int
    after_seq: int


def _position() -> _Position:
    state = AuditTreeState.objects.order_by("-tree_size").first()
    if state is None:
        return _Position(0, [], 0, 0, 0)
    blob = bytes(state.frontier)
    hashes = [blob[i : i + 32] for i in range(0, len(blob), 32)]
    return _Position(state.tree_size, hashes, state.horizon, state.round_horizon, state.after_seq)


def _xmin(cursor: Any) -> int:
    cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
    value: int = cursor.fetchone()[0]
    return value


def leaf_hashes(rows: Iterable[tuple[Any, ...]]) -> list[bytes]:
    """The leaf hash (RFC 9162: SHA-256 of 0x00 and the canonical form) of each row of the text
    columns _PENDING selects: canonical_from_text and leaf_hash inlined into one comprehension,
    as the sequencer and verification hash millions of rows and a call per row would cost more
    than the hash. tests/audit/test_sequencer.py holds it to audit.canonical.canonical_text."""
    sha256 = hashlib.sha256
    s = encode_basestring
    return [
        sha256(
            f'\x00{{"action":{s(action)},"actor":[{s(actor_type)},{s(actor_id)}],"at":"{at}",'
            f'"object":[{s(object_type)},{s(object_id)}],"payload":{payload},"prev":{s(prev)},"seq":{seq}}}'.encode()
        ).digest()
        for seq, at, actor_type, actor_id, action, object_type, object_id, payload, prev in rows
    ]


def _pending_rows(cursor: Any, pos: _Position, limit: int) -> list[tuple[Any, ...]]:
    """The next ``limit`` records of the round's walk, in walk order (the last one is where the
    next batch continues)."""
    if connection.vendor != "postgresql":
        return _pending_rows_orm(pos, limit)
    after_txid, untracked_after = -1, 0
    if pos.after_seq:
        cursor.execute("SELECT txid FROM audit_auditrecord WHERE seq = %s", [pos.after_seq])
        found = cursor.fetchone()
        if found is not None and found[0] is None:
            untracked_after = pos.after_seq  # the walk is among the records without a txid
        elif found is not None:
            after_txid = found[0]
        # (A record that vanished: the round's walk starts over; the leaves' probe skips
        # what is in the tree already.)
    rows: list[tuple[Any, ...]] = []
    if not untracked_after:
        after_seq = pos.after_seq if after_txid >= 0 else 0
        cursor.execute(
            _PENDING,
            {"horizon": pos.horizon, "after_txid": after_txid, "after_seq": after_seq, "limit": limit},
        )
        rows = cursor.fetchall()
    if len(rows) < limit:
        cursor.execute(_PENDING_UNTRACKED, {"after_seq": untracked_after, "limit": limit - len(rows)})
        rows += cursor.fetchall()
    return rows


def _pending_rows_orm(pos: _Position, limit: int) -> list[tuple[Any, ...]]:
    """Elsewhere than PostgreSQL (development only): every record without a leaf."""
    records = _without_leaf().filter(seq__gt=pos.after_seq).order_by("seq")[:limit]
    return [record_text_row(r) for r in records]


def record_text_row(r: AuditRecord) -> tuple[Any, ...]:
    """A record's columns as the text _PENDING selects (the ORM's way, for other databases)."""
    return (
        r.seq,
        r.created_at.strftime(TIME_FORMAT),
        r.actor_type,
        r.actor_id,
        r.action,
        r.object_type,
        r.object_id,
        jsonb_text(r.payload),
        r.prev_hash,
    )


def _batch(batch_size: int) -> SequencerRun:
    with transaction.atomic(), connection.cursor() as cursor:
        postgres = connection.vendor == "postgresql"
        if postgres:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [SEQUENCER_LOCK])
            if not cursor.fetchone()[0]:
                return SequencerRun(0, 0, busy=True)
            # The walk must read the index in order and probe the leaves per record: with
            # estimates off (a backlog COPYed in), PostgreSQL would otherwise hash every leaf
            # and sort every waiting record for each batch, and JIT-compile the plan.
            cursor.execute(_PLAN)
        pos = _position()
        now_xmin = _xmin(cursor) if postgres else 0
        if pos.after_seq == 0:
            pos.round_horizon = now_xmin
        rows = _pending_rows(cursor, pos, batch_size)
        if not rows and pos.after_seq:
            # The round ended exactly on a batch: start the next one now.
            pos.horizon, pos.round_horizon, pos.after_seq = pos.round_horizon, now_xmin, 0
            rows = _pending_rows(cursor, pos, batch_size)
        if not rows:
            return SequencerRun(0, pos.size)
        walked_to = rows[-1][0]
        rows.sort(key=itemgetter(0))  # leaves in record-number order within the batch
        if len(rows) < batch_size:
            pos.horizon, pos.after_seq = pos.round_horizon, 0
        else:
            pos.after_seq = walked_to
        size = _append(pos, [row[0] for row in rows], leaf_hashes(rows))
        return SequencerRun(len(rows), size)


def _append(pos: _Position, records: list[int], hashes: list[bytes]) -> int:
    """Make ``records`` (with their leaf ``hashes``) the next leaves after ``pos``: the leaves,
    the complete subtrees they finish and the tree's new state (with ``pos``'s place in the
    round). Returns the tree's size."""
    nodes: list[tuple[int, int, bytes]] = []
    frontier = Frontier(pos.size, pos.frontier, lambda *node: nodes.append(node), TILE_LEVELS)
    first = frontier.size
    frontier.extend(hashes)
    _leaves_insert(first, records, hashes)
    rows_insert(AuditNode, ("level", "index", "hash"), nodes)
    AuditTreeState.objects.create(
        tree_size=frontier.size,
        root_hash=frontier.root(),
        frontier=b"".join(frontier.hashes),
        horizon=pos.horizon,
        round_horizon=pos.round_horizon,
        after_seq=pos.after_seq,
        created_at=timezone.now(),
    )
    return frontier.size


def audit_leaves_append(records: list[int], hashes: list[bytes]) -> int:
    """Append leaves for ``records`` whose leaf hashes the caller computed, in the caller's
    transaction, under the sequencer's lock (waiting for a running batch), exactly as a batch
    of the sequencer would; the round's walk carries on where it was. Only for the bench's
    fill, which writes millions of records and their leaves with COPY so that verifying a big
    log does not first wait for the sequencer; ``verify_audit`` checks each hash like any
    other. Returns the tree's size."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_leaves_append must run in the transaction that wrote the records")
    if connection.vendor != "postgresql":
        return _append(_position(), records, hashes)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEQUENCER_LOCK])
        pos = _position()
        cursor.execute(_ALONE)
        own, others, count = cursor.fetchone()
        if not others and count == pos.size + len(records):
            # No other transaction of this database holds a txid (one that takes it later
            # gets a higher one), and every record there is will be in the tree: the next
            # round need not walk this one's records again (millions, each probed for its
            # leaf). (The database's xmin would not do: it counts every database's.)
            pos.horizon = pos.round_horizon = own + 1
            pos.after_seq = 0
        return _append(pos, records, hashes)


def _leaves_insert(first: int, records: list[int], hashes: list[bytes]) -> None:
    """Leaves ``first``.. for ``records`` with ``hashes``: one COPY of text built in one pass
    (rows_insert's row by row writing cost more than hashing the batch)."""
    if connection.vendor != "postgresql":
        rows = [(first + i, r, h) for i, (r, h) in enumerate(zip(records, hashes, strict=True))]
        rows_insert(AuditLeaf, ("leaf_index", "record_id", "leaf_hash"), rows)
        return
    data = "".join(
        [f"{first + i}\t{r}\t\\\\x{h.hex()}\n" for i, (r, h) in enumerate(zip(records, hashes, strict=True))]
    )
    table = AuditLeaf._meta.db_table
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} (leaf_index, record_id, leaf_hash) FROM STDIN") as copy,
    ):
        copy.write(data)


def audit_sequence(*, batch_size: int = 20_000, max_batches: int = 50) -> SequencerRun:
    """Integrate committed pending records, batch after batch (each its own transaction) until
    none are left or ``max_batches`` ran; returns the total added and the tree's size."""
    added, size = 0, 0
    for _ in range(max_batches):
        run = _batch(batch_size)
        if run.busy:
            return SequencerRun(added, size, busy=True) if added else run
        added, size = added + run.added, run.tree_size
        if run.added < batch_size:
            break
    return SequencerRun(added, size)


def _without_leaf() -> QuerySet[AuditRecord]:
    # NOT EXISTS (an anti-join), not NOT IN: PostgreSQL cannot run NOT IN over millions of rows fast.
    return AuditRecord.objects.filter(~Exists(AuditLeaf.objects.filter(record_id=OuterRef("seq"))))


def audit_pending_count() -> int:
    """Committed records not yet in the log."""
    return _without_leaf().count()
