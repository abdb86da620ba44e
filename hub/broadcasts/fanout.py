"""Fan-out: turn a broadcast's pending recipients into notifications, a batch per transaction.

A batch costs a fixed number of multi-row statements whatever its size (bulk inserts of
notifications, messages and events; one audit append; one lifecycle transition), and the
send tasks are enqueued, in batches per channel, when it commits. The broadcast row is
locked (skip-locked) for the batch, so two beat runs never release the same recipients.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.rows import rows_insert
from audit.services import Actor, AuditEntry
from hub.broadcasts.models import Broadcast, BroadcastRecipient, BroadcastStatus, RecipientState
from hub.contacts.models import Contact
from hub.ids import uuid7
from hub.messaging import dispatch, routing
from hub.messaging.accept import _address
from hub.messaging.acceptance import accepted_entries
from hub.messaging.decide import messages_decide
from hub.messaging.lifecycle import messages_transition
from hub.messaging.models import EventKind, Message, MessageEvent, Notification, Routing
from hub.messaging.models import MessageStatus as S
from templates_app.models import TemplateVariant
from templates_app.rendering import RenderError, variant_render, variant_select, version_channels

# What a released recipient's notification is written with (every column but the ones left
# NULL: ``send_at``, ``cancelled_at``).
NOTIFICATION_COLUMNS = (
    "id",
    "api_key_id",
    "template_id",
    "template_version_id",
    "template_approval_id",
    "contact_id",
    "to",
    "data",
    "channels",
    "routing",
    "locale",
    "reference",
    "created_at",
    "broadcast_recipient_id",
)
# Every column of a message: its instance is built (the decisions and audit records read it),
# then streamed as it is.
MESSAGE_COLUMNS = tuple(f.attname for f in Message._meta.concrete_fields)


@dataclass(frozen=True)
class _Plan:
    recipient: BroadcastRecipient
    contact: Contact | None
    data: dict[str, Any]
    locale: str
    targets: list[str]


def _allowance(broadcast: Broadcast, now: datetime, limit: int) -> int:
    """How many recipients the rate allows now (token bucket refilled per second)."""
    if not broadcast.rate_per_minute:
        return limit
    rate = broadcast.rate_per_minute / 60.0
    capacity = max(1.0, broadcast.rate_per_minute / 6.0)  # ten seconds' worth
    checked = broadcast.rate_checked_at or now
    tokens = min(capacity, broadcast.rate_tokens + max(0.0, (now - checked).total_seconds()) * rate)
    broadcast.rate_tokens = tokens
    broadcast.rate_checked_at = now
    return min(limit, math.floor(tokens))


def broadcast_release_batch(*, broadcast_id: UUID, limit: int | None = None) -> int:
    """Release up to ``limit`` (default ``HUB_BROADCAST_BATCH_SIZE``) pending recipients of a
    running broadcast, as its rate allows. Returns how many were released (0: nothing to do,
    not running, or another worker holds it). Marks the broadcast completed after the last."""
    limit = limit or settings.HUB_BROADCAST_BATCH_SIZE
    now = timezone.now()
    with transaction.atomic():
        broadcast = (
            Broadcast.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("template__live_version", "api_key")
            .filter(id=broadcast_id, status=BroadcastStatus.RUNNING)
            .first()
        )
        if broadcast is None:
            return 0
        allowed = _allowance(broadcast, now, limit)
        recipients = list(
            BroadcastRecipient.objects.filter(broadcast=broadcast, state=RecipientState.PENDING).order_by(
                "row"
            )[:allowed]
            if allowed
            else []
        )
        released = _release(broadcast, recipients, now=now) if recipients else 0
        broadcast.rate_tokens = max(0.0, broadcast.rate_tokens - len(recipients))
        broadcast.released += released
        skipped_now = len(recipients) - released
        broadcast.skipped += skipped_now
        broadcast.total -= skipped_now
        fields = ["rate_tokens", "rate_checked_at", "released", "skipped", "total"]
        if not BroadcastRecipient.objects.filter(broadcast=broadcast, state=RecipientState.PENDING).exists():
            broadcast.status = BroadcastStatus.COMPLETED
            broadcast.finished_at = now
            fields += ["status", "finished_at"]
        broadcast.save(update_fields=fields)
    return len(recipients)


def _release(broadcast: Broadcast, recipients: Sequence[BroadcastRecipient], *, now: datetime) -> int:
    template = broadcast.template
    version = template.live_version
    if version is None:
        for r in recipients:
            r.state, r.error = RecipientState.SKIPPED, "template_not_live"
        BroadcastRecipient.objects.bulk_update(recipients, ["state", "error"])
        return 0
    approval = version.approvals.order_by("-approved_at").first()
    variants = list(version.variants.all())
    channels = list(broadcast.channels) or version_channels(version)
    contacts = {
        c.external_id: c
        for c in Contact.objects.filter(external_id__in=[r.external_id for r in recipients if r.external_id])
    }
    validate = _Validator()
    plans: list[_Plan] = []
    for r in recipients:
        plan_or_error = _plan(broadcast, r, contacts, variants, channels, validate)
        if isinstance(plan_or_error, str):
            r.state, r.error = RecipientState.SKIPPED, plan_or_error
        else:
            plans.append(plan_or_error)
    actor = Actor.api_key(broadcast.api_key_id) if broadcast.api_key_id else Actor.system()
    waits = routing.fallback_waits(template)
    reference = broadcast.reference or f"broadcast:{broadcast.id}"
    # Rows are streamed with COPY (``rows_insert``): ids are made here, so no objects come back.
    notification_ids = [uuid7() for _ in plans]
    rows_insert(
        Notification,
        NOTIFICATION_COLUMNS,
        (
            (
                nid,
                broadcast.api_key_id,
                template.pk,
                version.pk,
                approval.pk if approval else None,
                p.contact.pk if p.contact else None,
                p.recipient.to,
                p.data,
                channels,
                broadcast.routing,
                p.locale,
                reference,
                now,
                p.recipient.pk,
            )
            for p, nid in zip(plans, notification_ids, strict=True)
        ),
    )
    messages: list[Message] = []
    contact_of: dict[UUID, Contact | None] = {}
    for plan, nid in zip(plans, notification_ids, strict=True):
        for channel in plan.targets:
            message = Message(
                id=uuid7(),
                notification_id=nid,
                channel=channel,
                category=template.category,
                to=_address(channel, plan.recipient.to, plan.contact),
                locale=plan.locale,
                fallback_at=routing.fallback_deadline(
                    waits, channel=channel, channels=channels, routing=broadcast.routing, start=now
                ),
                created_at=now,
                status_changed_at=now,
            )
            messages.append(message)
            contact_of[message.id] = plan.contact
    rows_insert(Message, MESSAGE_COLUMNS, ([getattr(m, c) for c in MESSAGE_COLUMNS] for m in messages))
    accepted_detail = {"broadcast": str(broadcast.id)}
    rows_insert(
        MessageEvent,
        ("message_id", "kind", "status", "detail", "source", "occurred_at"),
        ((m.id, EventKind.STATUS, S.ACCEPTED, accepted_detail, "broadcast", now) for m in messages),
    )
    BroadcastRecipient.objects.filter(id__in=[p.recipient.id for p in plans]).update(
        state=RecipientState.RELEASED
    )
    skipped = [r for r in recipients if r.state == RecipientState.SKIPPED]
    if skipped:
        BroadcastRecipient.objects.bulk_update(skipped, ["state", "error"], batch_size=1000)
    # Written with the decisions' records in one append at the end of the batch, so the chain
    # head (every writer's lock) is not held through the decisions and transitions.
    accepted = [
        *(
            AuditEntry(
                actor,
                "notification.accepted",
                "notification",
                str(nid),
                {
                    "template": template.key,
                    "version": version.number,
                    "approval": approval.pk if approval else None,
                    "contact": p.contact.pk if p.contact else None,
                    "channels": channels,
                    "routing": broadcast.routing,
                    "broadcast": str(broadcast.id),
                    "row": p.recipient.row,
                },
            )
            for p, nid in zip(plans, notification_ids, strict=True)
        ),
        *accepted_entries(actor, messages),
    ]
    # Every broadcast message is decided by the compliance rules, exactly as a single send is.
    changes = messages_decide(messages, contacts=contact_of, now=now)
    result = messages_transition(changes, actor=actor, source="broadcast", audit_before=accepted)
    queued = [c.message_id for c in result.applied if c.to == S.QUEUED]
    dispatch.enqueue_on_commit(
        queued, category=template.category, channels={m.id: m.channel for m in messages}
    )
    return len(plans)


class _Validator:
    """Whether a recipient's data renders, asked once per variant and data in a batch: an
    audience resolved from a filter shares the broadcast's data, so one render checks them all."""

    def __init__(self) -> None:
        self.seen: dict[tuple[int, str], bool] = {}

    def __call__(self, variant: TemplateVariant, data: Mapping[str, Any]) -> bool:
        key = (variant.pk, json.dumps(data, sort_keys=True, default=str))
        if key not in self.seen:
            try:
                variant_render(variant, data)
            except RenderError:
                self.seen[key] = False
            else:
                self.seen[key] = True
        return self.seen[key]


def _plan(
    broadcast: Broadcast,
    recipient: BroadcastRecipient,
    contacts: Mapping[str, Contact],
    variants: list[TemplateVariant],
    channels: list[str],
    renders: _Validator,
) -> _Plan | str:
    """What to create for one recipient, or why it is skipped."""
    contact = contacts.get(recipient.external_id) if recipient.external_id else None
    if recipient.external_id and contact is None:
        return "unknown_contact"
    data = {**broadcast.data, **recipient.data}
    locale = (contact.locale if contact else "") or broadcast.template.default_locale
    for channel in channels:
        variant = variant_select(
            variants, channel=channel, locale=locale, default_locale=broadcast.template.default_locale
        )
        if variant is not None and not renders(variant, data):
            return "invalid_data"
    if broadcast.routing == Routing.ALL:
        targets = list(channels)
    else:
        targets = []
        for channel in channels:
            targets.append(channel)
            if _address(channel, recipient.to, contact):
                break
    return _Plan(recipient, contact, data, locale, targets)
