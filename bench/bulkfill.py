"""Fast fills for P5 (PostgreSQL only): millions of audit records and messages in minutes.

``audit_append_many`` runs at ~15k records/s, so 10 million would take 11 minutes. Here each
record's hash is computed in Python with the real canonical form (``audit.canonical``) and
SHA-256, exactly as an append would, and the rows are streamed with COPY; ``verify_audit`` then checks
them like any others. Messages (with one notification each) are written with COPY too, with
UUIDv7 ids spread over the past year and a realistic mix of channels, statuses, block reasons,
contacts and templates. Both fills only add what is missing: the bench database is kept.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from audit.canonical import TIME_FORMAT, canonical_from_text, jsonb_text
from audit.models import AuditLeaf, AuditRecord
from audit.sequencer import audit_leaves_append
from bench.audience import promo_template
from bench.fixtures import bench_template
from hub.contacts.models import Contact
from hub.dbroles.owner import owner_connection
from hub.messaging.models import Message, Notification
from templates_app.models import Template

P5_REFERENCE = "bench:p5"
P5_CONTACT_TAG = "p5"
YEAR = timedelta(days=365)
AUDIT_COLUMNS = (
    "seq, created_at, actor_type, actor_id, action, object_type, object_id, payload, prev_hash, hash"
)
NOTIFICATION_COLUMNS = 'id, template_id, template_version_id, contact_id, "to", data, channels, routing, locale, reference, created_at'
MESSAGE_COLUMNS = (
    'id, notification_id, channel, category, "to", locale, status, block_reason, attempts, provider, '
    "provider_message_id, error_code, error_message, needs_reconciliation, rendered, decision, decided_by, "
    "created_at, status_changed_at"
)
# What a status change records (see hub.messaging.lifecycle), in a few variants.
AUDIT_KINDS = (
    ("message.status_changed", {"from": "queued", "to": "sending", "source": "dispatch"}),
    ("message.status_changed", {"from": "sending", "to": "sent", "source": "dispatch", "provider": "twilio"}),
    ("message.status_changed", {"from": "sent", "to": "delivered", "source": "twilio"}),
    ("message.accepted", {"channel": "sms", "notification": "bench", "to_digest": "0" * 32}),
)


def copy_text(value: str) -> str:
    """``value`` escaped for COPY's text format."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _uuid7_at(moment_ms: int, serial: int) -> uuid.UUID:
    """A UUIDv7 for ``moment_ms`` whose random bits are ``serial`` (unique per fill)."""
    value = (moment_ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | 0b10 << 62 | (serial & ((1 << 62) - 1))
    return uuid.UUID(int=value)


def copy_lines(sql: str, lines: Iterator[str], chunk: int = 20_000) -> None:
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        buffer: list[str] = []
        for line in lines:
            buffer.append(line)
            if len(buffer) >= chunk:
                copy.write("".join(buffer))
                buffer.clear()
        if buffer:
            copy.write("".join(buffer))


def _audit_lines(
    first_seq: int, count: int, start: datetime, step: timedelta, leaves: list[bytes] | None = None
) -> Iterator[str]:
    """COPY lines for records ``first_seq``.. (numbers the caller reserved from the sequence);
    with ``leaves``, each record's leaf hash (as the sequencer computes it) is appended to it."""
    kinds = [(action, jsonb_text(payload)) for action, payload in AUDIT_KINDS]
    sha256 = hashlib.sha256
    for seq in range(first_seq, first_seq + count):
        action, payload_text = kinds[seq % len(kinds)]
        moment = start + step * (seq - first_seq)
        at = moment.strftime(TIME_FORMAT)
        object_id = f"00000000-0000-7000-8000-{seq:012x}"
        canonical = canonical_from_text(
            seq=seq,
            at=at,
            actor_type="system",
            actor_id="",
            action=action,
            object_type="message",
            object_id=object_id,
            payload_text=payload_text,
            prev_hash="",
        ).encode()
        if leaves is not None:
            leaves.append(sha256(b"\x00" + canonical).digest())
        yield (
            f"{seq}\t{moment.isoformat()}\tsystem\t\t{action}\tmessage\t{object_id}\t"
            f"{copy_text(payload_text)}\t\t{sha256(canonical).hexdigest()}\n"
        )


def audit_fill_fast(*, records: int, batch: int = 1_000_000, sequenced: bool = False) -> int:
    """Append records until the trail holds ``records``; returns how many were added. Times
    run up to now over the past year, one transaction per batch. With ``sequenced`` each batch
    also becomes the next leaves of the Merkle log, in the same transaction, as the sequencer
    would make them (``audit.sequencer.audit_leaves_append``); otherwise they are left pending
    for the sequencer (``bench_verify_audit`` runs it)."""
    added = 0
    while True:
        with transaction.atomic():
            have = AuditRecord.objects.count()
            size = min(batch, records - have)
            if size <= 0:
                break
            last = AuditRecord.objects.order_by("-seq").values_list("created_at", flat=True).first()
            now = timezone.now()
            start = max(last or now - YEAR, now - YEAR) + timedelta(microseconds=1)
            step = (now - start) / (records - have + 1)
            with connection.cursor() as cursor:
                # Reserve ``size`` consecutive numbers (the bench is the only writer while it
                # fills). nextval, not setval: the hub's role may only use the sequence.
                cursor.execute(
                    "SELECT min(n), max(n) FROM (SELECT nextval('audit_record_seq') AS n "
                    "FROM generate_series(1, %s)) AS reserved",
                    [size],
                )
                first, last_seq = cursor.fetchone()
                if last_seq - first != size - 1:
                    raise RuntimeError("another writer took audit record numbers during the fill")
            leaves: list[bytes] | None = [] if sequenced else None
            copy_lines(
                f"COPY {AuditRecord._meta.db_table} ({AUDIT_COLUMNS}) FROM STDIN",
                _audit_lines(first, size, start.astimezone(UTC), step, leaves),
            )
            if leaves is not None:
                audit_leaves_append(list(range(first, first + size)), leaves)
        added += size
    if added:
        # Without fresh statistics the planner takes millions of new rows for a few, and the
        # searches that follow the fill measure its bad plans (p95 43 ms instead of 10 ms).
        # Only the tables' owner may ANALYZE them (the hub's role would be skipped, silently).
        with owner_connection() as owner, owner.cursor() as cursor:
            cursor.execute(f"ANALYZE {AuditRecord._meta.db_table}")
            if sequenced:
                cursor.execute(f"ANALYZE {AuditLeaf._meta.db_table}")
    return added


@dataclass(frozen=True)
class MessagePool:
    """What the fill draws from, and what the search bench looks for."""

    contacts: list[tuple[int, str, str]]  # pk, external id, phone
    templates: list[Template]


def message_pool(contacts: int) -> MessagePool:
    have = Contact.objects.filter(attributes__bench=P5_CONTACT_TAG).count()
    Contact.objects.bulk_create(
        (
            Contact(
                external_id=f"bench-p5-{n}",
                phone=f"+4478{n:08d}",
                email=f"p5-{n}@example.com",
                attributes={"bench": P5_CONTACT_TAG},
            )
            for n in range(have, contacts)
        ),
        batch_size=5000,
    )
    rows = Contact.objects.filter(attributes__bench=P5_CONTACT_TAG).values_list("pk", "external_id", "phone")
    return MessagePool(list(rows), [bench_template(), promo_template()])


# status, block reason, decided by; weights in percent.
OUTCOMES = (
    (("delivered", "", ""), 55),
    (("sent", "", ""), 20),
    (("blocked", "no_consent", "marketing_consent v1"), 8),
    (("blocked", "opted_out", "opt_out v1"), 4),
    (("blocked", "suppressed", "suppression v1"), 2),
    (("failed", "", ""), 4),
    (("undelivered", "", ""), 5),
    (("cancelled", "", ""), 2),
)


def _message_lines(plan: list[tuple[Any, ...]]) -> tuple[Iterator[str], Iterator[str]]:
    """COPY lines for the notifications and the messages of ``plan``."""

    def notifications() -> Iterator[str]:
        for ms, serial, pk, template, email, _, _ in plan:
            at = datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()
            channels = '["email"]' if email else '["sms"]'
            yield (
                f"{_uuid7_at(ms, serial * 2)}\t{template.pk}\t{template.live_version_id}\t{pk}\t{{}}\t{{}}\t"
                f"{channels}\tfirst\ten\t{P5_REFERENCE}\t{at}\n"
            )

    def messages() -> Iterator[str]:
        for ms, serial, pk, template, email, phone, (status, reason, rule) in plan:
            at = datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()
            channel, to = ("email", f"p5-{pk}@example.com") if email else ("sms", phone)
            provider = "" if status in {"blocked", "cancelled"} else ("sendgrid" if email else "twilio")
            provider_id = f"SM{serial:030x}" if provider else ""
            decision = json.dumps({"outcome": "block", "rule": rule}) if rule else "{}"
            yield (
                f"{_uuid7_at(ms, serial * 2 + 1)}\t{_uuid7_at(ms, serial * 2)}\t{channel}\t{template.category}\t"
                f"{to}\ten\t{status}\t{reason}\t1\t{provider}\t{provider_id}\t\t\tf\t{{}}\t{decision}\t{rule}\t"
                f"{at}\t{at}\n"
            )

    return notifications(), messages()


def message_fill_fast(*, messages: int, contacts: int = 50_000, seed: int = 5, batch: int = 250_000) -> int:
    """Add messages (one notification each, reference ``bench:p5``) until ``messages`` exist,
    their times spread over the past year; returns how many were added."""
    have = Notification.objects.filter(reference=P5_REFERENCE).count()
    missing = messages - have
    if missing <= 0:
        return 0
    pool = message_pool(contacts)
    rng = random.Random(seed + have)  # noqa: S311 - synthetic data
    outcomes = [o for o, weight in OUTCOMES for _ in range(weight)]
    now_ms = int(timezone.now().timestamp() * 1000)
    start_ms = now_ms - int(YEAR.total_seconds() * 1000)
    spacing = (now_ms - start_ms) / missing
    for first in range(0, missing, batch):
        plan = []
        for i in range(first, min(missing, first + batch)):
            pk, _, phone = rng.choice(pool.contacts)
            template = pool.templates[0] if rng.random() < 0.7 else pool.templates[1]
            email = rng.random() < 0.25
            plan.append(
                (int(start_ms + i * spacing), have + i, pk, template, email, phone, rng.choice(outcomes))
            )
        notification_lines, message_lines = _message_lines(plan)
        with transaction.atomic():
            copy_lines(
                f"COPY {Notification._meta.db_table} ({NOTIFICATION_COLUMNS}) FROM STDIN", notification_lines
            )
            copy_lines(f"COPY {Message._meta.db_table} ({MESSAGE_COLUMNS}) FROM STDIN", message_lines)
    with owner_connection() as owner, owner.cursor() as cursor:
        cursor.execute(f"ANALYZE {Notification._meta.db_table}")
        cursor.execute(f"ANALYZE {Message._meta.db_table}")
    return missing
