"""Writing consent and suppressions. Every source (API, SMS keywords, one-click unsubscribe,
bounces, complaints, admin) goes through these, and each write is audited."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import Actor, address_digest, audit_append
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
    """Suppress an address on a channel; adding one that is already active returns it unchanged."""
    digest = address_digest(address)
    existing = Suppression.objects.filter(
        channel=channel, address_hash=digest, lifted_at__isnull=True
    ).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            suppression = Suppression.objects.create(
                channel=channel,
                address=address,
                address_hash=digest,
                reason=reason,
                detail=dict(detail or {}),
            )
            audit_append(
                actor=actor,
                action="suppression.added",
                object_type="suppression",
                object_id=suppression.pk,
                payload={"channel": channel, "address_digest": digest, "reason": reason},
            )
    except IntegrityError:  # a concurrent writer added it first
        return Suppression.objects.get(channel=channel, address_hash=digest, lifted_at__isnull=True)
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
        channel=channel, address_hash=address_digest(address), reason=reason, lifted_at__isnull=True
    )
    lifted = 0
    for suppression in active:
        suppression_lift(suppression=suppression, actor=actor, reason=f"{reason} withdrawn by the person")
        lifted += 1
    return lifted
