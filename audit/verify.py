"""Checking the whole audit log: every leaf against its record, the tree at every stored state and
signed tree head, every signature, and the heads kept outside the database.

Every root is recomputed here from the records' columns (one pass, leaf by leaf, keeping only the
tree's frontier), so the tree at each head is checked directly: heads that all match the one
recomputed tree are consistent with each other by construction. What the database cannot vouch
for is vouched for by the signatures: an owner who rewrites records, leaves, states and heads
together still cannot sign the new heads, and cannot rewrite the heads in
HUB_AUDIT_TREE_HEAD_FILE.

Two independent checks make up the whole, and each can run on a core of its own:

- the *tree*: the leaf hashes in leaf order, with no index missing, folded into the tree and
  compared with every stored subtree hash, tree state and signed head;
- the *contents*: every leaf's record exists and its canonical form hashes to that leaf. Order
  does not matter here, so leaves and records are read joined in record order (a merge of two
  index scans in PostgreSQL), and the problem at the lowest leaf is kept.

The first problem is the one at the lowest leaf, as a walk leaf by leaf would meet it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import os
import queue
import threading
from collections.abc import Generator, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.db import connection, transaction
from more_itertools import chunked
from psycopg import sql

from audit.canonical import PG_TIME_SQL, encode_basestring
from audit.heads import audit_trusted_keys
from audit.merkle import Frontier
from audit.models import AuditLeaf, AuditNode, AuditRecord, AuditTreeHead, AuditTreeState
from audit.notes import NoteError, open_note_any, parse_checkpoint, parse_verifier_key
from audit.selectors import VERIFIED_ACTION
from audit.sequencer import TILE_LEVELS, leaf_hashes, record_text_row
from audit.services import Actor, audit_append

# The tree: leaf hashes in leaf order.
_TREE = "SELECT leaf_index, leaf_hash FROM audit_auditleaf ORDER BY leaf_index"
# The contents: each leaf with its record's columns as text (all NULL when the record is
# missing), in record order: PostgreSQL merges the two primary/unique indexes without sorting.
_CONTENTS = f"""SELECT l.leaf_index, l.record_id, l.leaf_hash, r.seq, {PG_TIME_SQL}, r.actor_type, r.actor_id,
       r.action, r.object_type, r.object_id, r.payload::text, r.prev_hash
FROM audit_auditleaf l LEFT JOIN audit_auditrecord r ON r.seq = l.record_id
ORDER BY l.record_id"""  # noqa: S608 - constants only
_NO_RECORD = (None,) * 9
# Rows fetched at a time (a thread fetches the next batch while the last one is checked).
_FETCH = 20_000
# Rows the tree and contents checks take at a time.
VERIFY_CHUNK = 1000


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

    def as_tuple(self) -> tuple[str, int | None, int | None]:
        return self.problem, self.record, self.leaf


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


# ---------------------------------------------------------------------------------------------
# The tree


@dataclass(frozen=True)
class _TreeResult:
    """Leaves folded, and the problem found with how many leaves had been read when it was."""

    size: int
    broken: _Broken | None = None
    at: int = 0


def _tree_check(batches: Iterable[Sequence[tuple[Any, ...]]], expected: _Expected) -> _TreeResult:
    """Fold (leaf index, leaf hash) rows, in leaf order, into the tree; compare every stored
    subtree hash and every root claimed for a size on the way."""
    nodes = {
        (level, index): bytes(h)
        for level, index, h in AuditNode.objects.values_list("level", "index", "hash")
    }

    def completed(level: int, index: int, digest: bytes) -> None:
        stored = nodes.pop((level, index), None)
        if stored is not None and stored != digest:
            raise _Broken(f"the stored hash of subtree {level}/{index} does not match its leaves")

    frontier = Frontier(completed=completed, levels=TILE_LEVELS)
    roots = dict(expected.roots)
    checks = sorted(roots, reverse=True)  # popped from the end: smallest first
    checked_size = 0

    def extend(hashes: Sequence[bytes]) -> None:
        nonlocal checked_size
        done, count = 0, len(hashes)
        while done < count or frontier.size in roots:
            while checks and checks[-1] <= frontier.size:
                checks.pop()
            take = count - done
            if checks:
                take = min(take, checks[-1] - frontier.size)
            frontier.extend(hashes[done : done + take])
            done += take
            size = frontier.size
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

    try:
        extend([])  # a root claimed for the empty tree
        for rows in batches:
            size, count = frontier.size, len(rows)
            # Indexes are unique and ascending: the first and last tell whether one is missing.
            if rows[0][0] != size or rows[-1][0] != size + count - 1:
                gap = next(i for i, row in enumerate(rows) if row[0] != size + i)
                extend([row[1] for row in rows[:gap]])
                raise _Broken(f"leaf {size + gap} is missing", leaf=size + gap)
            extend([row[1] for row in rows])
        size = frontier.size
        if roots:
            largest = max(roots)
            raise _Broken(
                f"the log has {size} leaves but {roots[largest][0][1]} shows {largest} existed "
                "(the log was cut short)",
                leaf=size,
            )
        if nodes:
            level, index = min(nodes)
            raise _Broken(f"a stored subtree hash {level}/{index} lies beyond the log's {size} leaves")
    except _Broken as broken:
        return _TreeResult(frontier.size, broken, frontier.size)
    return _TreeResult(frontier.size)


# ---------------------------------------------------------------------------------------------
# The contents


def _differs(row: tuple[Any, ...]) -> bool:
    try:
        return bool(leaf_hashes([row[3:]])[0] != row[2])
    except TypeError:  # a NULL in a column that may not hold one: not what was hashed
        return True


def _content_check(batches: Iterable[Sequence[tuple[Any, ...]]]) -> _Broken | None:
    """The problem at the lowest leaf among rows of (leaf index, record number, leaf hash, the
    record's text columns as in audit.sequencer or all None), in any order; None when every
    leaf's record is there and hashes to it."""
    first: tuple[int, int, bool] | None = None  # leaf index, record number, missing
    sha256 = hashlib.sha256
    s = encode_basestring
    for rows in batches:
        try:
            # leaf_hashes' canonical form, inlined: this runs once per record of the log.
            bad = [
                index
                for index, _, leaf, seq, at, actor_type, actor_id, action, object_type, object_id, payload, prev in rows
                if sha256(
                    f'\x00{{"action":{s(action)},"actor":[{s(actor_type)},{s(actor_id)}],"at":"{at}",'
                    f'"object":[{s(object_type)},{s(object_id)}],"payload":{payload},"prev":{s(prev)},'
                    f'"seq":{seq}}}'.encode()
                ).digest()
                != leaf
            ]
        except TypeError:  # a NULL column: a missing record
            bad = [row[0] for row in rows]
        if not bad:
            continue
        wanted = set(bad)
        for row in rows:
            if row[0] not in wanted or (first is not None and row[0] >= first[0]):
                continue
            if row[3] is None:
                first = (row[0], row[1], True)
            elif _differs(row):
                first = (row[0], row[1], False)
    if first is None:
        return None
    index, record, missing = first
    if missing:
        return _Broken(f"record #{record} (leaf {index}) is missing", record=record, leaf=index)
    return _Broken(
        f"record #{record} (leaf {index}): its content does not match its leaf", record=record, leaf=index
    )


# ---------------------------------------------------------------------------------------------
# Reading


def _batches(conn: psycopg.Connection[Any], query: str, name: str) -> Generator[list[tuple[Any, ...]]]:
    """The rows of ``query`` in lists, read through a server-side cursor by a thread that fetches
    the next list while this one is checked (the rows are parsed in C, off the GIL's hot path
    of the check, and PostgreSQL works while Python does)."""
    ahead: queue.Queue[list[tuple[Any, ...]] | BaseException] = queue.Queue(maxsize=3)
    stop = threading.Event()

    def fetch() -> None:
        try:
            with conn.cursor(name=name, binary=True) as cursor:
                cursor.execute(query)
                while not stop.is_set():
                    rows = cursor.fetchmany(_FETCH)
                    ahead.put(rows)
                    if not rows:
                        return
        except BaseException as exc:  # noqa: BLE001 - handed to the reader, which raises it
            ahead.put(exc)

    thread = threading.Thread(target=fetch, name=f"audit-verify-{name}", daemon=True)
    thread.start()
    try:
        while True:
            item = ahead.get()
            if isinstance(item, BaseException):
                raise item
            if not item:
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            with contextlib.suppress(queue.Empty):
                ahead.get(timeout=0.05)
        thread.join()


def _snapshot_connection(snapshot: str) -> psycopg.Connection[Any]:
    """A connection of its own in the snapshot exported by the main one."""
    other: psycopg.Connection[Any] = connection.get_new_connection(connection.get_connection_params())
    other.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    other.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
    return other


def _content_process(snapshot: str, answer: Any) -> None:
    """The contents check in a process of its own (forked): the result goes back on ``answer``."""
    try:
        with _snapshot_connection(snapshot) as other:
            broken = _contents_read(other)
        answer.send(("done", broken.as_tuple() if broken else None))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        answer.send(("error", repr(exc)))
    finally:
        answer.close()


class _ContentsElsewhere:
    """The contents check running in a forked process while this one checks the tree."""

    def __init__(self, snapshot: str) -> None:
        context = multiprocessing.get_context("fork")
        self.receive, send = context.Pipe(duplex=False)
        self.process = context.Process(target=_content_process, args=(snapshot, send), daemon=True)
        self.process.start()
        send.close()

    def result(self) -> _Broken | None:
        try:
            kind, value = self.receive.recv()
        except EOFError as exc:
            raise RuntimeError("the audit contents check stopped without an answer") from exc
        finally:
            self.process.join()
            self.receive.close()
        if kind == "error":
            raise RuntimeError(f"the audit contents check failed: {value}")
        return None if value is None else _Broken(value[0], record=value[1], leaf=value[2])

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.receive.close()


def _tree_read(conn: psycopg.Connection[Any], expected: _Expected) -> _TreeResult:
    # closing: a problem found mid-way stops the fetching thread and its cursor now.
    with closing(_batches(conn, _TREE, "tree")) as batches:
        return _tree_check(batches, expected)


def _contents_read(conn: psycopg.Connection[Any]) -> _Broken | None:
    with closing(_batches(conn, _CONTENTS, "contents")) as batches:
        return _content_check(batches)


def _checked_postgresql(expected: _Expected, processes: int) -> tuple[_TreeResult, _Broken | None, int]:
    """Both checks and the number of records; in a transaction of the caller's, on its
    connection one after the other (a second connection would not see its rows)."""
    connection.ensure_connection()
    conn: psycopg.Connection[Any] = connection.connection
    if connection.in_atomic_block:
        tree = _tree_read(conn, expected)
        contents = _contents_read(conn)
        return tree, contents, AuditRecord.objects.count()
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor
        raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        raw.execute("SELECT pg_export_snapshot()")
        snapshot = raw.fetchone()[0]
        count = "SELECT count(*) FROM audit_auditrecord"
        if processes < 2 or "fork" not in multiprocessing.get_all_start_methods():
            tree = _tree_read(conn, expected)
            contents = _contents_read(conn)
            raw.execute(count)
            return tree, contents, raw.fetchone()[0]
        elsewhere = _ContentsElsewhere(snapshot)  # forked before any thread starts here
        try:
            tree = _tree_read(conn, expected)
            raw.execute(count)  # (while the contents are still being checked)
            records = raw.fetchone()[0]
            contents = elsewhere.result()
        except BaseException:
            elsewhere.stop()
            raise
        return tree, contents, records


def _checked_orm(expected: _Expected) -> tuple[_TreeResult, _Broken | None, int]:
    """Elsewhere than PostgreSQL (development only): the same rows through the ORM."""
    leaves = AuditLeaf.objects.order_by("leaf_index")
    tree = _tree_check(
        chunked(
            ((index, bytes(h)) for index, h in leaves.values_list("leaf_index", "leaf_hash").iterator()),
            VERIFY_CHUNK,
        ),
        expected,
    )

    def contents() -> Iterator[tuple[Any, ...]]:
        for leaf in leaves.iterator():
            r = AuditRecord.objects.filter(seq=leaf.record_id).first()
            record = _NO_RECORD if r is None else record_text_row(r)
            yield (leaf.leaf_index, leaf.record_id, bytes(leaf.leaf_hash), *record)

    return tree, _content_check(chunked(contents(), VERIFY_CHUNK)), AuditRecord.objects.count()


def audit_log_verify(*, trusted_keys: Sequence[str] | None = None, processes: int = 1) -> LogReport:
    """Check the whole log and name the first problem (see the module docstring). Tree heads
    must be signed by one of ``trusted_keys`` (verifier keys; by default the log's current key
    and those of HUB_AUDIT_TRUSTED_KEYS_FILE). With ``processes`` 2 (``verify_audit`` and the
    bench; not inside a web request) the contents are checked in a forked process while this
    one checks the tree."""
    try:
        keys = [
            parse_verifier_key(key)
            for key in (audit_trusted_keys() if trusted_keys is None else trusted_keys)
        ]
        expected, heads = _expected(keys)
        if connection.vendor == "postgresql":
            tree, contents, records = _checked_postgresql(expected, processes)
        else:
            tree, contents, records = _checked_orm(expected)
        if contents is not None and (tree.broken is None or (contents.leaf or 0) < tree.at):
            raise contents
        if tree.broken is not None:
            raise tree.broken
    except _Broken as broken:
        return LogReport(0, problem=broken.problem, record=broken.record, leaf=broken.leaf)
    # Every leaf's record exists (else a problem above) and a record has one leaf at most.
    return LogReport(tree.size, heads=heads, pending=records - tree.size)


def audit_verification_record(*, report: LogReport, actor: Actor) -> AuditRecord:
    """Append what a verification found (the admin button, ``verify_audit``): the compliance
    home shows the last one, read from the (action, created_at) index."""
    return audit_append(
        actor=actor,
        action=VERIFIED_ACTION,
        object_type="audit_log",
        object_id=report.checked,
        payload={
            "ok": report.ok,
            "checked": report.checked,
            "heads": report.heads,
            "pending": report.pending,
            "problem": report.problem,
            "record": report.record,
        },
    )
