"""Steering a broadcast: pause, resume, cancel (and cancelling what it has not sent yet)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from audit.services import Actor, audit_append
from hub.broadcasts.errors import BroadcastRejected
from hub.broadcasts.models import Broadcast, BroadcastRecipient, BroadcastStatus, RecipientState
from hub.messaging.lifecycle import Change, messages_transition
from hub.messaging.models import Message
from hub.messaging.models import MessageStatus as S


def _steer(broadcast: Broadcast, *, allowed_from: set[str], to: str, action: str, actor: Actor) -> Broadcast:
    with transaction.atomic():
        locked = Broadcast.objects.select_for_update().get(id=broadcast.id)
        if locked.status not in allowed_from:
            raise BroadcastRejected(
                "invalid_state",
                f"A {locked.status} broadcast cannot be {action}.",
                status=409,
            )
        previous = locked.status
        if to == BroadcastStatus.RUNNING and locked.started_at is None:
            # Paused before it started: it waits for its send_at again, and the beat starts
            # it then (resolving a filter audience), as it would have without the pause.
            to = BroadcastStatus.SCHEDULED
        locked.status = to
        fields = ["status"]
        if to == BroadcastStatus.RUNNING:
            locked.rate_checked_at = timezone.now()
            fields.append("rate_checked_at")
        if to == BroadcastStatus.CANCELLED:
            locked.finished_at = timezone.now()
            fields.append("finished_at")
            BroadcastRecipient.objects.filter(broadcast=locked, state=RecipientState.PENDING).update(
                state=RecipientState.CANCELLED
            )
        locked.save(update_fields=fields)
        audit_append(
            actor=actor,
            action=f"broadcast.{action}",
            object_type="broadcast",
            object_id=locked.id,
            payload={"from": previous},
        )
    if to == BroadcastStatus.CANCELLED:
        _cancel_unsent_messages(locked, actor=actor)
    if to == BroadcastStatus.RUNNING:
        from hub.broadcasts.tasks import release_broadcast

        release_broadcast.delay(str(locked.id))
    return locked


def broadcast_pause(*, broadcast: Broadcast, actor: Actor) -> Broadcast:
    """Stop releasing recipients; messages already queued still go."""
    return _steer(
        broadcast,
        allowed_from={BroadcastStatus.RUNNING, BroadcastStatus.SCHEDULED},
        to=BroadcastStatus.PAUSED,
        action="paused",
        actor=actor,
    )


def broadcast_resume(*, broadcast: Broadcast, actor: Actor) -> Broadcast:
    """Carry on releasing where a pause stopped; a broadcast paused before it started is
    scheduled again (never sent before its ``send_at``)."""
    return _steer(
        broadcast,
        allowed_from={BroadcastStatus.PAUSED},
        to=BroadcastStatus.RUNNING,
        action="resumed",
        actor=actor,
    )


def broadcast_cancel(*, broadcast: Broadcast, actor: Actor) -> Broadcast:
    """Release nothing more, and cancel released messages not yet handed to a provider."""
    return _steer(
        broadcast,
        allowed_from={
            BroadcastStatus.DRAFT,
            BroadcastStatus.SCHEDULED,
            BroadcastStatus.RUNNING,
            BroadcastStatus.PAUSED,
        },
        to=BroadcastStatus.CANCELLED,
        action="cancelled",
        actor=actor,
    )


def _cancel_unsent_messages(broadcast: Broadcast, *, actor: Actor) -> None:
    unsent = Message.objects.filter(
        notification__broadcast_recipient__broadcast=broadcast, status__in=[S.ACCEPTED, S.QUEUED, S.DEFERRED]
    ).values_list("id", flat=True)
    ids = list(unsent)
    for start in range(0, len(ids), 1000):
        messages_transition(
            [
                Change(i, S.CANCELLED, detail={"reason": "broadcast_cancelled"})
                for i in ids[start : start + 1000]
            ],
            actor=actor,
            source="broadcast",
        )
