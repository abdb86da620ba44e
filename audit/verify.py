"""Checking the whole audit log: every leaf against its record, the tree at every stored state and
signed tree head, every signature, and the heads kept outside the database.

Every root is recomputed here from the records' columns (one pass, leaf by leaf, keeping only the
tree's frontier), so the tree at each head is checked directly: heads that all match the one
recomputed tree are consistent with each other by construction. What the database cannot vouch
for is vouched for by the signatures: an owner who rewrites records, leaves, states and heads
together still cannot sign the new heads, and cannot rewrite the heads in
HUB_AUDIT_TREE_HEAD_FILE.
"""

from __future__ import annotations

import bisect
import json
import os
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.db import connection, transaction
from psycopg import sql

from audit.canonical import PG_TIME_SQL
from audit.heads import audit_trusted_keys
from audit.merkle import Frontier
from audit.models import AuditLeaf, AuditNode, AuditRecord, AuditTreeHead, AuditTreeState
from audit.notes import NoteError, open_note_any, parse_checkpoint, parse_verifier_key
from audit.sequencer import TILE_LEVELS, audit_pending_count, leaf_hashes, record_text_row

# Leaves and records are read as two ordered streams merged in Python rather than joined: the
# sequencer gives leaves in record order, so the merge is one index scan of each table. A leaf
# whose record lies behind the record stream (a log someone reordered) is looked up on its own,
# so the merged rows are exactly those of a LEFT JOIN. Each stream is a COPY on a connection of
# its own (the second one imports the first one's snapshot), so the two PostgreSQL backends
# produce rows while Python hashes them: COPY streams without waiting to be asked, and its rows
# are parsed in C (psycopg's binary format).
_LEAVES = "SELECT leaf_index, record_id, leaf_hash FROM audit_auditleaf ORDER BY leaf_index"
_RECORD_COLUMNS = f"""seq, {PG_TIME_SQL}, actor_type, actor_id, action, object_type, object_id, payload::text,
       prev_hash"""
_RECORDS = f"SELECT {_RECORD_COLUMNS} FROM audit_auditrecord ORDER BY seq"  # noqa: S608 - constants only
_RECORD = f"SELECT {_RECORD_COLUMNS} FROM audit_auditrecord WHERE seq = %s"  # noqa: S608 - constants only
# Inside a transaction someone else opened (a caller's atomic block) a second connection would
# not see its rows: then one stream, the join done by PostgreSQL leaf by leaf (a nested loop
# keeps leaf order without sorting the log).
_JOINED = f"""SELECT l.leaf_index, l.record_id, l.leaf_hash, r.* FROM audit_auditleaf l
LEFT JOIN LATERAL (SELECT {_RECORD_COLUMNS} FROM audit_auditrecord WHERE seq = l.record_id OFFSET 0) r ON true
ORDER BY l.leaf_index"""  # noqa: S608 - constants only
_LEAF_TYPES = ("int8", "int8", "bytea")
_RECORD_TYPES = ("int8", "text", "text", "text", "text", "text", "text", "text", "text")
_NO_RECORD = (None,) * 9
# Leaves are hashed into the tree this many at a time (and at every size a head claims a root for).
_BLOCK = 1 << 16


@dataclass(frozen=True)
class LogReport:
    """The outcome: leaves checked, signed heads checked, records still pending, and the first
    problem (with the record and leaf it concerns, when it concerns one)."""

    checked: int
    heads: int = 0
    pending: int = 0
    problem: str = ""
    record: int | None = None
    leaf: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problem


class _Broken(Exception):
    def __init__(self, problem: str, *, record: int | None = None, leaf: int | None = None) -> None:
        super().__init__(problem)
        self.problem, self.record, self.leaf = problem, record, leaf


@dataclass
class _Expected:
    """Roots the recomputed tree must have at given sizes, and where each claim comes from."""

    roots: dict[int, list[tuple[bytes, str]]] = field(default_factory=dict)

    def add(self, size: int, root: bytes, source: str) -> None:
        self.roots.setdefault(size, []).append((root, source))


def _signed(note: str, keys: Sequence[tuple[str, Ed25519PublicKey]], source: str) -> tuple[int, bytes]:
    origin = settings.HUB_AUDIT_LOG_ORIGIN
    try:
        checkpoint = parse_checkpoint(open_note_any(note, keys))
    except NoteError as exc:
        raise _Broken(f"{source} is not signed by the log's key ({exc})") from exc
    if checkpoint.origin != origin:
        raise _Broken(f"{source} is a checkpoint of another log ({checkpoint.origin})")
    return checkpoint.size, checkpoint.root


def _expected(keys: Sequence[tuple[str, Ed25519PublicKey]]) -> tuple[_Expected, int]:
    expected = _Expected()
    for size, root in AuditTreeState.objects.values_list("tree_size", "root_hash"):
        expected.add(size, bytes(root), f"the tree state stored at size {size}")
    heads = 0
    for head in AuditTreeHead.objects.order_by("id"):
        source = f"tree head #{head.id} (size {head.tree_size})"
        size, root = _signed(head.note, keys, source)
        if (size, root) != (head.tree_size, bytes(head.root_hash)):
            raise _Broken(f"{source}: its columns differ from its signed note")
        expected.add(size, root, f"signed {source}")
        heads += 1
    path = settings.HUB_AUDIT_TREE_HEAD_FILE
    if path and os.path.exists(path):
        with open(path, encoding="utf-8") as stream:
            for number, line in enumerate(stream, start=1):
                if line.strip():
                    source = f"line {number} of HUB_AUDIT_TREE_HEAD_FILE"
                    size, root = _signed(str(json.loads(line)["note"]), keys, source)
                    expected.add(size, root, f"the signed tree head on {source}")
                    heads += 1
    return expected, heads


@contextmanager
def _copy(cursor: Any, query: str, types: Sequence[str]) -> Iterator[Iterator[tuple[Any, ...]]]:
    with cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT binary)") as copy:
        copy.set_types(types)
        yield copy.rows()


def _rows() -> Generator[tuple[tuple[Any, ...], tuple[Any, ...]]]:
    """(leaf index, record number, leaf hash) and the record's text columns (_RECORD_COLUMNS,
    all None when it is missing), leaf by leaf."""
    if connection.in_atomic_block:
        with (
            connection.cursor() as cursor,
            _copy(cursor.cursor, _JOINED, _LEAF_TYPES + _RECORD_TYPES) as rows,
        ):
            for row in rows:
                yield row[:3], row[3:]
        return
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor
        raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        raw.execute("SELECT pg_export_snapshot()")
        snapshot = raw.fetchone()[0]
        with _Snapshot(snapshot) as records, _Snapshot(snapshot) as single:

            def lookup(seq: int) -> tuple[Any, ...]:
                found: tuple[Any, ...] | None = single.cursor().execute(_RECORD, [seq]).fetchone()
                return found or _NO_RECORD

            with (
                _copy(raw, _LEAVES, _LEAF_TYPES) as leaves,
                _copy(records.cursor(), _RECORDS, _RECORD_TYPES) as stream,
            ):
                yield from _merged(leaves, stream, lookup)


class _Snapshot:
    """A connection of its own in the snapshot ``snapshot`` exported by the main one, opened
    when first used."""

    def __init__(self, snapshot: str) -> None:
        self.snapshot = snapshot
        self.connection: psycopg.Connection[Any] | None = None

    def __enter__(self) -> _Snapshot:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.connection is not None:
            self.connection.close()

    def cursor(self) -> psycopg.Cursor[Any]:
        if self.connection is None:
            self.connection = connection.get_new_connection(connection.get_connection_params())
            self.connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            self.connection.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(self.snapshot)))
        return self.connection.cursor()


def _merged(
    leaves: Iterator[tuple[Any, ...]],
    records: Iterator[tuple[Any, ...]],
    lookup: Callable[[int], tuple[Any, ...]],
) -> Iterator[tuple[tuple[Any, ...], tuple[Any, ...]]]:
    record = next(records, None)
    for leaf in leaves:
        wanted = leaf[1]
        while record is not None and record[0] < wanted:
            record = next(records, None)
        if record is not None and record[0] == wanted:
            yield leaf, record
        else:
            # Behind the stream (a leaf pointing back), or nowhere.
            yield leaf, lookup(wanted)


def _walk(rows: Iterator[tuple[tuple[Any, ...], tuple[Any, ...]]], expected: _Expected) -> int:
    nodes = {
        (level, index): bytes(h)
        for level, index, h in AuditNode.objects.values_list("level", "index", "hash")
    }

    def completed(level: int, index: int, digest: bytes) -> None:
        stored = nodes.pop((level, index), None)
        if stored is not None and stored != digest:
            raise _Broken(f"the stored hash of subtree {level}/{index} does not match its leaves")

    frontier = Frontier(completed=completed, levels=TILE_LEVELS)
    roots = expected.roots
    checks = sorted(roots)
    # A block of leaves: their records' columns and their stored hashes, hashed and compared
    # together when it is full, or (first) when a problem further on is found.
    records: list[tuple[Any, ...]] = []
    stored: list[bytes] = []
    add_record, add_stored = records.append, stored.append

    def flush() -> None:
        computed = leaf_hashes(records)
        if computed != stored:
            at = next(i for i, (c, s) in enumerate(zip(computed, stored, strict=True)) if c != s)
            seq, index = records[at][0], frontier.size + at
            raise _Broken(
                f"record #{seq} (leaf {index}): its content does not match its leaf", record=seq, leaf=index
            )
        frontier.extend(computed)
        records.clear()
        stored.clear()

    size = 0
    checked_size = 0
    boundary = _boundary(0, checks)
    for (index, record_id, leaf), record in rows:
        if index != size or record[0] is None:
            flush()
            if index != size:
                raise _Broken(f"leaf {size} is missing", leaf=size)
            raise _Broken(f"record #{record_id} (leaf {index}) is missing", record=record_id, leaf=index)
        add_record(record)
        add_stored(leaf)
        size += 1
        if size == boundary:
            flush()
            boundary = _boundary(size, checks)
            if size in roots:
                root = frontier.root()
                for claimed, source in roots.pop(size):
                    if claimed != root:
                        raise _Broken(
                            f"the tree of {size} leaves does not match {source}: a record among leaves "
                            f"{checked_size}..{size - 1} was changed, removed or moved",
                            leaf=checked_size,
                        )
                checked_size = size
    flush()
    if roots:
        largest = max(roots)
        raise _Broken(
            f"the log has {size} leaves but {roots[largest][0][1]} shows {largest} existed (the log was cut short)",
            leaf=size,
        )
    if nodes:
        level, index = min(nodes)
        raise _Broken(f"a stored subtree hash {level}/{index} lies beyond the log's {size} leaves")
    return size


def _boundary(size: int, checks: list[int]) -> int:
    """Where the next block of leaves ends: the next multiple of _BLOCK, or sooner the next size
    a tree head or state claims a root for."""
    following = (size // _BLOCK + 1) * _BLOCK
    at = bisect.bisect_right(checks, size)
    return min(following, checks[at]) if at < len(checks) else following


def _rows_orm() -> Generator[tuple[tuple[Any, ...], tuple[Any, ...]]]:
    """Elsewhere than PostgreSQL (development only): the same rows through the ORM."""
    for leaf in AuditLeaf.objects.order_by("leaf_index").iterator():
        r = AuditRecord.objects.filter(seq=leaf.record_id).first()
        yield (
            (leaf.leaf_index, leaf.record_id, bytes(leaf.leaf_hash)),
            _NO_RECORD if r is None else record_text_row(r),
        )


def audit_log_verify(*, trusted_keys: Sequence[str] | None = None) -> LogReport:
    """Check the whole log and name the first problem (see the module docstring). Tree heads
    must be signed by one of ``trusted_keys`` (verifier keys; by default the log's current key
    and those of HUB_AUDIT_TRUSTED_KEYS_FILE)."""
    try:
        keys = [
            parse_verifier_key(key)
            for key in (audit_trusted_keys() if trusted_keys is None else trusted_keys)
        ]
        expected, heads = _expected(keys)
        # closing: a problem found mid-stream ends the COPY streams and their transaction now.
        with closing(_rows() if connection.vendor == "postgresql" else _rows_orm()) as rows:
            checked = _walk(rows, expected)
    except _Broken as broken:
        return LogReport(0, problem=broken.problem, record=broken.record, leaf=broken.leaf)
    return LogReport(checked, heads=heads, pending=audit_pending_count())
