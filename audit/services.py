"""Writing to the audit trail. Callers append explicitly; nothing here listens to signals.

``audit_append_many`` must run inside the caller's transaction so that a fact and its
record commit together. Appends are serialised by a row lock on the chain head, so the
chain stays gapless and correct with any number of concurrent writers.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
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
from audit.models import ActorType, AuditChainHead, AuditCheckpoint, AuditRecord
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


def audit_append_many(entries: Iterable[AuditEntry]) -> list[AuditRecord]:
    """Append entries in order, chained after the current head; returns the saved records.

    The chain head's row lock is held until the caller's transaction commits, and every writer
    waits for it, so all the work that does not depend on the head (payloads in canonical form,
    the fixed parts of each record's text) is done before taking it."""
    items = list(entries)
    if not items:
        return []
    prepared = [_Prepared.of(entry) for entry in items]
    # No savepoint: records are part of the caller's transaction, and a failure fails it.
    with transaction.atomic(savepoint=False):
        head = AuditChainHead.objects.select_for_update().filter(id=1).first()
        if head is None:
            AuditChainHead.objects.get_or_create(id=1, defaults={"seq": 0, "hash": GENESIS_HASH})
            head = AuditChainHead.objects.select_for_update().get(id=1)
        now = timezone.now()
        at = now.astimezone(UTC).strftime(TIME_FORMAT)
        prev_hash = head.hash
        records: list[AuditRecord] = []
        for offset, item in enumerate(prepared, start=1):
            seq = head.seq + offset
            digest = canonical_hash(item.text(seq=seq, at=at, prev_hash=prev_hash))
            records.append(item.record(seq=seq, created_at=now, prev_hash=prev_hash, digest=digest))
            prev_hash = digest
        rows_insert(AuditRecord, RECORD_COLUMNS, ([getattr(r, c) for c in RECORD_COLUMNS] for r in records))
        head.seq = records[-1].seq
        head.hash = prev_hash
        head.save(update_fields=["seq", "hash"])
    return records


@dataclass(frozen=True)
class _Prepared:
    """An entry ready to chain: its normalised payload and the canonical text around the
    parts only the chain head decides (time, previous hash, sequence number)."""

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

    def text(self, *, seq: int, at: str, prev_hash: str) -> str:
        return canonical_from_text(
            seq=seq, at=at, payload_text=self.payload_text, prev_hash=prev_hash, **self._columns()
        )

    def record(self, *, seq: int, created_at: datetime, prev_hash: str, digest: str) -> AuditRecord:
        return AuditRecord(
            seq=seq,
            created_at=created_at,
            payload=self.payload,
            prev_hash=prev_hash,
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


def audit_checkpoint_write() -> AuditCheckpoint:
    """Copy the current chain head into the checkpoint table, and append it to
    ``HUB_AUDIT_CHECKPOINT_FILE`` when that is set (run periodically by beat).

    Callers can rely on the checkpoint naming a record that exists with that hash at the time
    of writing; a later verification that cannot find it reports the trail as cut short.
    """
    head = AuditChainHead.objects.filter(id=1).first()
    seq, digest = (head.seq, head.hash) if head is not None else (0, GENESIS_HASH)
    checkpoint = AuditCheckpoint.objects.create(seq=seq, hash=digest, created_at=timezone.now())
    path = getattr(settings, "HUB_AUDIT_CHECKPOINT_FILE", "")
    if path:
        # A copy outside the database too: whoever can rewrite the database cannot rewrite this.
        line = json.dumps({"seq": seq, "hash": digest, "at": checkpoint.created_at.isoformat()})
        with open(path, "a", encoding="utf-8") as stream:
            stream.write(line + "\n")
            stream.flush()
            os.fsync(stream.fileno())
    return checkpoint
