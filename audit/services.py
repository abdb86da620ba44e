"""Writing to the audit trail. Callers append explicitly; nothing here listens to signals.

``audit_append_many`` must run inside the caller's transaction so that a fact and its
record commit together. Writers share no lock: the sequencer (audit.sequencer) puts committed
records into the Merkle log afterwards.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
from audit.rows import rows_insert

# The columns written for a record: those its canonical form covers, and its hash.
RECORD_COLUMNS = (*RECORD_FIELDS, "hash")


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


def _normalise(payload: Mapping[str, Any]) -> dict[str, Any]:
    # What the database gives back must hash the same as what we hashed: go through JSON once.
    result: dict[str, Any] = json.loads(json.dumps(payload, default=str))
    return result


def _next_seqs(count: int) -> list[int]:
    """``count`` record numbers. PostgreSQL draws them from a sequence, which never waits for
    another transaction; elsewhere (development on SQLite, whose writers are serialised by the
    database anyway) they follow the highest number in use."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval('audit_record_seq') FROM generate_series(1, %s)", [count])
            return sorted(row[0] for row in cursor.fetchall())
    last = AuditRecord.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    return list(range(last + 1, last + 1 + count))


def audit_append_many(entries: Iterable[AuditEntry]) -> list[AuditRecord]:
    """Append entries in the caller's transaction; returns the saved records.

    No lock shared with other writers is taken: each record gets a number from a sequence and
    its hash from its own columns, and commits (or rolls back) with the caller's transaction.
    The sequencer (audit.sequencer) later gives every committed record its place in the Merkle
    log; until then it is pending."""
    items = list(entries)
    if not items:
        return []
    prepared = [_Prepared.of(entry) for entry in items]
    # No savepoint: records are part of the caller's transaction, and a failure fails it.
    with transaction.atomic(savepoint=False):
        now = timezone.now()
        at = now.astimezone(UTC).strftime(TIME_FORMAT)
        records = [
            item.record(seq=seq, created_at=now, digest=canonical_hash(item.text(seq=seq, at=at)))
            for seq, item in zip(_next_seqs(len(prepared)), prepared, strict=True)
        ]
        rows_insert(AuditRecord, RECORD_COLUMNS, ([getattr(r, c) for c in RECORD_COLUMNS] for r in records))
    return records


@dataclass(frozen=True)
class _Prepared:
    """An entry ready to write: its normalised payload in canonical (jsonb) text."""

    entry: AuditEntry
    payload: dict[str, Any]
    payload_text: str

    @classmethod
    def of(cls, entry: AuditEntry) -> _Prepared:
        payload = _normalise(entry.payload)
        return cls(entry, payload, jsonb_text(payload))

    def _columns(self) -> dict[str, Any]:
        e = self.entry
        return {
            "actor_type": e.actor.type,
            "actor_id": e.actor.id,
            "action": e.action,
            "object_type": e.object_type,
            "object_id": e.object_id,
        }

    def text(self, *, seq: int, at: str) -> str:
        return canonical_from_text(
            seq=seq, at=at, payload_text=self.payload_text, prev_hash="", **self._columns()
        )

    def record(self, *, seq: int, created_at: datetime, digest: str) -> AuditRecord:
        return AuditRecord(
            seq=seq,
            created_at=created_at,
            payload=self.payload,
            prev_hash="",
            hash=digest,
            **self._columns(),
        )


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
