"""Retention: past each channel's retention period, personal data is removed from messages
(rendered content, address, error text), notifications (data, inline addresses), inbound
replies (body, sender) and tracking (links, clicks and opens, conversions:
``hub.tracking.privacy``); the evidence (status, decision, timeline, audit hashes) stays."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from more_itertools import chunked

from audit.services import Actor, audit_append
from hub.callbacks.services import callbacks_inbound_redact
from hub.contacts.models import InboundMessage
from hub.messaging.lifecycle import FINAL_STATUSES
from hub.messaging.models import Message, Notification
from hub.tracking.privacy import tracking_purge
from hub.workspace.models import RetentionPolicy

PURGE_BATCH = 2000


def retention_purge(*, now: datetime, actor: Actor | None = None) -> dict[str, int]:
    """Remove personal data older than each channel's policy; returns counts per kind.

    Only messages in a final status are purged (a message still on its way keeps what it
    needs). Each batch is its own short transaction; one audit record sums up the run.
    """
    counts = {"messages": 0, "notifications": 0, "inbound": 0, "tracking": 0}
    policies = {p.channel: p.days for p in RetentionPolicy.objects.all()}
    for channel, days in sorted(policies.items()):
        cutoff = now - timedelta(days=days)
        stale = (
            Message.objects.filter(channel=channel, created_at__lt=cutoff, status__in=FINAL_STATUSES)
            .filter(~Q(to="") | ~Q(rendered={}) | ~Q(error_message=""))
            .values_list("id", flat=True)
        )
        for batch in chunked(stale.iterator(chunk_size=PURGE_BATCH), PURGE_BATCH):
            with transaction.atomic():
                counts["messages"] += Message.objects.filter(id__in=batch).update(
                    to="", rendered={}, error_message=""
                )
        with transaction.atomic():
            counts["tracking"] += tracking_purge(channel=channel, cutoff=cutoff)
        replies = InboundMessage.objects.filter(channel=channel, received_at__lt=cutoff).exclude(
            body="", subject="", from_address=""
        )
        for replied in chunked(
            replies.values_list("id", flat=True).iterator(chunk_size=PURGE_BATCH), PURGE_BATCH
        ):
            callbacks_inbound_redact(inbound_ids=replied)
            counts["inbound"] += InboundMessage.objects.filter(id__in=replied).update(
                body="", subject="", from_address=""
            )
    if policies:
        # A notification's data serves all its messages: keep it for the longest policy.
        cutoff = now - timedelta(days=max(policies.values()))
        stale_notifications = Notification.objects.filter(created_at__lt=cutoff).filter(
            ~Q(data={}) | ~Q(to={})
        )
        for batch in chunked(
            stale_notifications.values_list("id", flat=True).iterator(chunk_size=PURGE_BATCH), PURGE_BATCH
        ):
            counts["notifications"] += Notification.objects.filter(id__in=batch).update(data={}, to={})
    if any(counts.values()):
        audit_append(
            actor=actor or Actor.system(),
            action="retention.purged",
            object_type="retention",
            object_id=now.date().isoformat(),
            payload={"policies": policies, **counts},
        )
    return counts


def retention_policy_save(*, policy: RetentionPolicy, actor: Actor, before_days: int | None) -> None:
    """Save a policy change and record who changed it, from what, to what."""
    with transaction.atomic():
        policy.save()
        audit_append(
            actor=actor,
            action="retention.policy_changed",
            object_type="retention_policy",
            object_id=policy.channel,
            payload={"before": before_days, "after": policy.days},
        )
