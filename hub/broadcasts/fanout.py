"""Fan-out: turn a broadcast's pending recipients into notifications, a batch per transaction.

Each batch is handed to the intake (``hub.messaging.intake.notifications_accept``), which makes
the notifications and messages exactly as for a single send, at a fixed number of multi-row
statements whatever the batch size; the send tasks are enqueued when it commits. The broadcast
row is locked (skip-locked) for the batch, so two beat runs never release the same recipients.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from hub.broadcasts.models import Broadcast, BroadcastRecipient, BroadcastStatus, RecipientState
from hub.messaging.intake import NotificationRejected, NotificationRequest, Origin, notifications_accept


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
    """Hand the recipients to the intake as one batch; a recipient it refuses is skipped with
    the refusal's code (``unknown_contact``, ``invalid_data``, ``template_not_live``...) and its
    detail in words ("invalid_data: 'first_name' is required (string).")."""
    reference = broadcast.reference or f"broadcast:{broadcast.id}"
    requests = [
        NotificationRequest(
            template=broadcast.template.key,
            to={**r.to, "external_id": r.external_id} if r.external_id else dict(r.to),
            data={**broadcast.data, **r.data},
            channels=list(broadcast.channels),
            routing=broadcast.routing,
            reference=reference,
            broadcast_recipient_id=r.pk,
            audit_detail={"broadcast": str(broadcast.id), "row": r.row},
        )
        for r in recipients
    ]
    results = notifications_accept(
        requests,
        api_key=broadcast.api_key,
        origin=Origin("broadcast", {"broadcast": str(broadcast.id)}),
        timelines=False,
    )
    released: list[int] = []
    skipped: list[BroadcastRecipient] = []
    for recipient, result in zip(recipients, results, strict=True):
        if isinstance(result, NotificationRejected):
            # The code first (for the API and grouping), then the refusal in words for admin.
            recipient.state = RecipientState.SKIPPED
            recipient.error = f"{result.code}: {result.detail}"[:200]
            skipped.append(recipient)
        else:
            released.append(recipient.pk)
    BroadcastRecipient.objects.filter(id__in=released).update(state=RecipientState.RELEASED)
    if skipped:
        BroadcastRecipient.objects.bulk_update(skipped, ["state", "error"], batch_size=1000)
    return len(released)
