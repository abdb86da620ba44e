"""Writing consent and suppressions. Every source (API, SMS keywords, one-click unsubscribe,
bounces, complaints, admin) goes through these, and each write is audited."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.digests import address_digest_keyed, address_digests, digest_key_id
from audit.services import Actor, audit_append
from hub.contacts.models import ConsentEntry, Contact, Suppression


def consent_record(
    *,
    contact: Contact,
    channel: str,
    purpose: str,
    granted: bool,
    source: str,
    actor: Actor,
    evidence: Mapping[str, Any] | None = None,
) -> ConsentEntry:
    """Append a consent ledger entry (never updates an old one)."""
    with transaction.atomic():
        entry = ConsentEntry.objects.create(
            contact=contact,
            channel=channel,
            purpose=purpose,
            granted=granted,
            source=source,
            evidence=dict(evidence or {}),
        )
        audit_append(
            actor=actor,
            action="consent.granted" if granted else "consent.withdrawn",
            object_type="contact",
            object_id=contact.pk,
            payload={"entry": entry.pk, "channel": channel, "purpose": purpose, "source": source},
        )
    return entry


def suppression_add(
    *, channel: str, address: str, reason: str, actor: Actor, detail: Mapping[str, Any] | None = None
) -> Suppression:
    """Suppress an address on a channel; adding one that is already active (under any digest
    key) returns it unchanged. A new one is stored under the newest digest key."""
    active = Suppression.objects.filter(
        channel=channel, address_hash__in=address_digests(address), lifted_at__isnull=True
    )
    existing = active.first()
    if existing is not None:
        return existing
    keyed = address_digest_keyed(address)
    try:
        with transaction.atomic():
            suppression = Suppression.objects.create(
                channel=channel,
                address=address,
                address_hash=keyed.digest,
                key_id=keyed.key_id,
                reason=reason,
                detail=dict(detail or {}),
            )
            audit_append(
                actor=actor,
                action="suppression.added",
                object_type="suppression",
                object_id=suppression.pk,
                payload={
                    "channel": channel,
                    "address_digest": keyed.digest,
                    "digest_key": keyed.key_id,
                    "reason": reason,
                },
            )
    except IntegrityError:  # a concurrent writer added it first
        return active.get()
    return suppression


def suppression_lift(*, suppression: Suppression, actor: Actor, reason: str) -> Suppression:
    """Lift an active suppression (the address may be sent to again). Callers check that the
    person may do this (the Compliance group); lifting one already lifted changes nothing."""
    with transaction.atomic():
        locked = Suppression.objects.select_for_update().get(pk=suppression.pk)
        if locked.lifted_at is not None:
            return locked
        locked.lifted_at = timezone.now()
        locked.detail = {**locked.detail, "lift_reason": reason[:300]}
        locked.save(update_fields=["lifted_at", "detail"])
        audit_append(
            actor=actor,
            action="suppression.lifted",
            object_type="suppression",
            object_id=locked.pk,
            payload={
                "channel": locked.channel,
                "address_digest": locked.address_hash,
                "digest_key": locked.key_id,
                "reason": locked.reason,
                "lift_reason": reason[:300],
            },
        )
    return locked


def suppression_lift_matching(*, channel: str, address: str, reason: str, actor: Actor) -> int:
    """Lift the active suppression of an address if it was for ``reason`` (e.g. an SMS opt-out
    lifted by START); a suppression for another reason (a complaint, an erasure) stays.
    Returns how many were lifted (0 or 1)."""
    active = Suppression.objects.filter(
        channel=channel, address_hash__in=address_digests(address), reason=reason, lifted_at__isnull=True
    )
    lifted = 0
    for suppression in active:
        suppression_lift(suppression=suppression, actor=actor, reason=f"{reason} withdrawn by the person")
        lifted += 1
    return lifted


def suppressions_rekey(*, actor: Actor, batch_size: int = 1000) -> int:
    """Move every suppression whose address is still readable to the newest digest key, so an
    older key can later be dropped. Hash-only rows (erased addresses) cannot be re-digested:
    their key must stay configured. Returns how many rows moved. Safe to run repeatedly and
    while the hub runs: rows are rewritten under their lock, each batch audited."""
    newest = digest_key_id()
    moved = 0
    while True:
        with transaction.atomic():
            rows = list(
                Suppression.objects.select_for_update(skip_locked=True)
                .exclude(key_id=newest)
                .exclude(address="")
                .order_by("pk")[:batch_size]
            )
            for row in rows:
                keyed = address_digest_keyed(row.address)
                row.address_hash, row.key_id = keyed.digest, keyed.key_id
            Suppression.objects.bulk_update(rows, ["address_hash", "key_id"])
            if rows:
                audit_append(
                    actor=actor,
                    action="suppressions.rekeyed",
                    object_type="suppression",
                    object_id=f"{rows[0].pk}-{rows[-1].pk}",
                    payload={"rows": len(rows), "digest_key": newest},
                )
        moved += len(rows)
        if len(rows) < batch_size:
            return moved
