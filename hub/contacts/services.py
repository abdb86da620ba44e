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


def suppression_lift(*, channel: str, address: str, reason: str, actor: Actor) -> int:
    """Lift the active suppression of an address if it was for ``reason`` (e.g. an SMS opt-out
    lifted by START); a suppression for another reason (a complaint, an erasure) stays.
    Returns how many were lifted (0 or 1)."""
    digest = address_digest(address)
    with transaction.atomic():
        ids = list(
            Suppression.objects.select_for_update()
            .filter(channel=channel, address_hash=digest, reason=reason, lifted_at__isnull=True)
            .values_list("pk", flat=True)
        )
        if not ids:
            return 0
        Suppression.objects.filter(pk__in=ids).update(lifted_at=timezone.now())
        for pk in ids:
            audit_append(
                actor=actor,
                action="suppression.lifted",
                object_type="suppression",
                object_id=pk,
                payload={"channel": channel, "address_digest": digest, "reason": reason},
            )
    return len(ids)
