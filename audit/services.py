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
from datetime import UTC
from functools import lru_cache
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from audit.canonical import GENESIS_HASH as GENESIS_HASH  # re-exported: callers import it from here
from audit.canonical import (
    RECORD_FIELDS,
    TIME_FORMAT,
    canonical_from_text,
    canonical_text,
    jsonb_text,
    record_fields,
)
from audit.models import ActorType, AuditRecord
from audit.rows import JsonText, rows_insert

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
    another transaction; elsewhere (development on SQLite, whose writers are serialised by the
    database anyway) they follow the highest number in use."""
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
    for row in _append(entries):
        values = dict(zip(RECORD_COLUMNS, row, strict=True))
        values["payload"] = json.loads(values["payload"])
        records.append(AuditRecord(**values))
    return records


def audit_append_rows(entries: Iterable[AuditEntry]) -> int:
    """``audit_append_many`` for a caller that needs no records back (the lifecycle, for every
    status change): the same rows, without an instance made for each; returns how many."""
    return len(_append(entries))


def _append(entries: Iterable[AuditEntry]) -> list[tuple[Any, ...]]:
    """Write the entries' records; returns their rows (values in ``RECORD_COLUMNS`` order)."""
    # No savepoint: records are part of the caller's transaction, and a failure fails it.
    with transaction.atomic(savepoint=False):
        rows = audit_rows(entries)
        rows_insert(AuditRecord, RECORD_COLUMNS, rows)
    return rows


def audit_rows(entries: Iterable[AuditEntry], *, seqs: Sequence[int] = ()) -> list[tuple[Any, ...]]:
    """The entries' records, numbered and hashed, as rows of ``AuditRecord`` (values in
    ``RECORD_COLUMNS`` order, the payload a ``JsonText``), for a caller that inserts them in
    its transaction with rows of its own, in one statement (``audit_append_many`` inserts them
    itself). ``seqs``: record numbers the caller drew already in a statement it ran anyway
    (``SEQ_NEXT_SQL``), saving the draw's round trip: used first, any more drawn here, any left
    over never used (numbers are not gapless)."""
    prepared = [
        ((e.actor.type, e.actor.id, e.action, e.object_type, e.object_id), *_payload(e.payload))
        for e in entries
    ]
    if not prepared:
        return []
    numbers = list(seqs[: len(prepared)])
    if len(numbers) < len(prepared):
        numbers += _next_seqs(len(prepared) - len(numbers))
    now = timezone.now()
    at = now.astimezone(UTC).strftime(TIME_FORMAT)
    rows = []
    for seq, (columns, payload, payload_text) in zip(numbers, prepared, strict=True):
        named = dict(zip(ENTRY_COLUMNS, columns, strict=True))
        text = canonical_from_text(seq=seq, at=at, payload_text=payload_text, prev_hash="", **named)
        rows.append((seq, now, *columns, payload, "", canonical_hash(text)))
    return rows


def _payload(payload: Mapping[str, Any]) -> tuple[JsonText, str]:
    """The payload as it is stored, in JSON text (what the database gives back must hash the
    same as what was hashed: it goes through JSON once), and in canonical (jsonb) text."""
    dumped = json.dumps(payload, default=str)
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
