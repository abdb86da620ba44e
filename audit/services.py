"""Writing to the audit trail. Callers append explicitly; nothing here listens to signals.

``audit_append_many`` must run inside the caller's transaction so that a fact and its
record commit together. Writers share no lock: the sequencer (audit.sequencer) puts committed
records into the Merkle log afterwards.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from audit.canonical import GENESIS_HASH as GENESIS_HASH  # re-exported: callers import it from here
from audit.canonical import (
    RECORD_FIELDS,
    TIME_FORMAT,
    canonical_head,
    canonical_text,
    jsonb_text,
    record_fields,
)
from audit.models import ActorType, AuditRecord
from audit.rows import INSERT_MAX_ROWS, JsonText, insert_run, json_dumps, rows_insert

# The columns written for a record: those its canonical form covers, and its hash.
RECORD_COLUMNS = (*RECORD_FIELDS, "hash")
# The columns an entry gives, in RECORD_COLUMNS order (between ``created_at`` and ``payload``).
ENTRY_COLUMNS = RECORD_COLUMNS[2:7]


@dataclass(frozen=True)
class Actor:
    """Who caused a fact: a user, an API key, a provider or the system itself."""

    type: str
    id: str = ""

    @classmethod
    def system(cls) -> Actor:
        return cls(ActorType.SYSTEM)

    @classmethod
    def user(cls, user_id: object) -> Actor:
        return cls(ActorType.USER, str(user_id))

    @classmethod
    def api_key(cls, key_id: object) -> Actor:
        return cls(ActorType.API_KEY, str(key_id))

    @classmethod
    def provider(cls, name: str) -> Actor:
        return cls(ActorType.PROVIDER, name)


@dataclass(frozen=True)
class AuditEntry:
    """A fact to append. ``payload`` must hold no raw personal data (see audit.digests)."""

    actor: Actor
    action: str
    object_type: str
    object_id: str
    payload: Mapping[str, Any] = field(default_factory=dict)


def record_canonical(record: AuditRecord) -> str:
    """The canonical (v2) serialisation of a record, built from its columns."""
    return canonical_text(**record_fields(record))


def canonical_hash(canonical: str) -> str:
    return hashlib.sha256(canonical.encode()).hexdigest()


def record_hash(record: AuditRecord) -> str:
    """SHA-256 (hex) of the record's canonical form: what ``record.hash`` must equal."""
    return canonical_hash(record_canonical(record))


# A record number drawn in SQL, by a caller that will write records (``audit_rows``) in a
# statement it runs anyway. PostgreSQL only.
SEQ_NEXT_SQL = "nextval('audit_record_seq')"


def _next_seqs(count: int) -> list[int]:
    """``count`` record numbers. PostgreSQL draws them from a sequence, which never waits for
    another transaction (for a few records ``_append`` draws them in their ``INSERT`` itself,
    ``_NUMBERED_INSERT``; this serves many, and ``audit_rows``); elsewhere (development on
    SQLite, whose writers are serialised by the database anyway) they follow the highest
    number in use."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {SEQ_NEXT_SQL} FROM generate_series(1, %s)", [count])  # noqa: S608 - a constant
            return sorted(row[0] for row in cursor.fetchall())
    last = AuditRecord.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    return list(range(last + 1, last + 1 + count))


def audit_append_many(entries: Iterable[AuditEntry]) -> list[AuditRecord]:
    """Append entries in the caller's transaction; returns the saved records.

    No lock shared with other writers is taken: each record gets a number from a sequence and
    its hash from its own columns, and commits (or rolls back) with the caller's transaction.
    The sequencer (audit.sequencer) later gives every committed record its place in the Merkle
    log; until then it is pending."""
    records = []
    for row in _append(entries, returning=True):
        values = dict(zip(RECORD_COLUMNS, row, strict=True))
        values["payload"] = json.loads(values["payload"])
        records.append(AuditRecord(**values))
    return records


def audit_append_rows(entries: Iterable[AuditEntry]) -> int:
    """``audit_append_many`` for a caller that needs no records back (the lifecycle, for every
    status change): the same rows, without an instance made for each; returns how many. A few
    records are one ``INSERT`` numbered and hashed by PostgreSQL, which waits to go with the
    others of a batched block (``audit.rows.rows_batched``)."""
    return len(_append(entries, returning=False))


# A few records on PostgreSQL: numbered from the sequence and hashed in the INSERT itself (the
# canonical form is its head, made here, then the number and "}"), so no round trip for the
# numbers first. Their columns come as one JSON array of rows (one parameter, one statement
# text, whatever their number: json.dumps makes it in C). OFFSET 0 keeps the numbered rows a
# subquery of their own: each number drawn once, in the array's order, and used for the seq
# and the hash alike.
_NUMBERED_INSERT = (
    f"INSERT INTO audit_auditrecord ({', '.join(RECORD_COLUMNS)}) "  # noqa: S608 - constants only
    "SELECT n.seq, %s::timestamptz, n.r->>0, n.r->>1, n.r->>2, n.r->>3, n.r->>4, (n.r->>5)::jsonb, '', "
    "encode(sha256(convert_to(n.r->>6 || n.seq::text || '}', 'UTF8')), 'hex') "
    "FROM (SELECT nextval('audit_record_seq') AS seq, r FROM json_array_elements(%s::json) AS r OFFSET 0) AS n"
)


def _append(entries: Iterable[AuditEntry], *, returning: bool) -> list[tuple[Any, ...]]:
    """Write the entries' records; returns their rows (values in ``RECORD_COLUMNS`` order), or
    unless ``returning`` just as many placeholders when PostgreSQL numbers and hashes them."""
    prepared = _prepared(entries)
    if not prepared:
        return []
    # No savepoint: records are part of the caller's transaction, and a failure fails it.
    with transaction.atomic(savepoint=False):
        if connection.vendor == "postgresql" and len(prepared) <= INSERT_MAX_ROWS:
            # A few (a single accept's, a status change's): numbered and hashed by PostgreSQL in
            # their INSERT, no round trip for the numbers first. Many (a broadcast's chunk, a
            # dispatched batch): numbered from the sequence in one statement, hashed here and
            # written by COPY; hashing thousands in PostgreSQL cost it 0.17 ms a broadcast
            # recipient (P2), and PostgreSQL is the one part every process shares.
            now = timezone.now()
            return _numbered_insert(
                prepared, now=now, at=now.astimezone(UTC).strftime(TIME_FORMAT), returning=returning
            )
        rows = _rows_numbered(prepared, _next_seqs(len(prepared)))
        rows_insert(AuditRecord, RECORD_COLUMNS, rows)
    return rows


def audit_rows(entries: Iterable[AuditEntry], *, seqs: Sequence[int] = ()) -> list[tuple[Any, ...]]:
    """The entries' records, numbered and hashed, as rows of ``AuditRecord`` (values in
    ``RECORD_COLUMNS`` order, the payload a ``JsonText``), for a caller that inserts them in
    its transaction with rows of its own, in one statement (``audit_append_many`` inserts them
    itself). ``seqs``: record numbers the caller drew already in a statement it ran anyway
    (``SEQ_NEXT_SQL``), saving the draw's round trip: used first, any more drawn here, any left
    over never used (numbers are not gapless)."""
    prepared = _prepared(entries)
    if not prepared:
        return []
    numbers = list(seqs[: len(prepared)])
    if len(numbers) < len(prepared):
        numbers += _next_seqs(len(prepared) - len(numbers))
    return _rows_numbered(prepared, numbers)


Prepared = tuple[tuple[str, ...], JsonText, str]  # the entry's columns, payload, canonical payload


def _prepared(entries: Iterable[AuditEntry]) -> list[Prepared]:
    return [
        ((e.actor.type, e.actor.id, e.action, e.object_type, e.object_id), *_payload(e.payload))
        for e in entries
    ]


def _rows_numbered(prepared: Sequence[Prepared], numbers: Sequence[int]) -> list[tuple[Any, ...]]:
    """The records' rows, numbered and hashed here (elsewhere than in PostgreSQL's INSERT)."""
    now = timezone.now()
    at = now.astimezone(UTC).strftime(TIME_FORMAT)
    rows = []
    for seq, (columns, payload, payload_text) in zip(numbers, prepared, strict=True):
        named = dict(zip(ENTRY_COLUMNS, columns, strict=True))
        head = canonical_head(at=at, payload_text=payload_text, prev_hash="", **named)
        text = f"{head}{seq}}}"  # canonical_from_text, one call a record fewer
        rows.append((seq, now, *columns, payload, "", canonical_hash(text)))
    return rows


def _numbered_insert(
    prepared: Sequence[Prepared], *, now: datetime, at: str, returning: bool
) -> list[tuple[Any, ...]]:
    rows = json.dumps(
        [
            [
                a_type,
                a_id,
                act,
                o_type,
                o_id,
                payload,
                canonical_head(
                    at=at,
                    actor_type=a_type,
                    actor_id=a_id,
                    action=act,
                    object_type=o_type,
                    object_id=o_id,
                    payload_text=payload_text,
                    prev_hash="",
                ),
            ]
            for (a_type, a_id, act, o_type, o_id), payload, payload_text in prepared
        ],
        ensure_ascii=False,
    )
    if not returning:
        insert_run(_NUMBERED_INSERT, [now, rows])
        return [()] * len(prepared)
    with connection.cursor() as cursor:
        cursor.execute(f"{_NUMBERED_INSERT} RETURNING seq, hash", [now, rows])
        numbered = sorted(cursor.fetchall())
    return [
        (seq, now, *entry, payload, "", digest)
        for (seq, digest), (entry, payload, _) in zip(numbered, prepared, strict=True)
    ]


# ``json.dumps(payload, default=str)``: a payload's JSON text, as it is stored.
_payload_json = json_dumps(default=str)


def _payload(payload: Mapping[str, Any]) -> tuple[JsonText, str]:
    """The payload as it is stored, in JSON text (what the database gives back must hash the
    same as what was hashed: it goes through JSON once), and in canonical (jsonb) text."""
    dumped = _payload_json(payload)
    return JsonText(dumped), _payload_text(dumped)


@lru_cache(maxsize=4096)
def _payload_text(dumped: str) -> str:
    """The jsonb text of the payload ``dumped`` is the JSON of: a function of that text alone,
    so kept for the next record with the same payload (the records of one kind of change
    mostly repeat theirs: a status change's is the same for every message decided alike)."""
    return jsonb_text(json.loads(dumped))


def audit_append(
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: object,
    payload: Mapping[str, Any] | None = None,
) -> AuditRecord:
    """Append one record; see audit_append_many."""
    entry = AuditEntry(actor, action, object_type, str(object_id), payload or {})
    return audit_append_many([entry])[0]
