"""Routing ``first``: when a message ends badly, or is not delivered in time, try the next
channel; and cancelling a notification that has not been sent yet.

``routing_after_transition`` is a status-change effect (``hub.messaging.effects``); the
ones that ended a message badly are handed, on commit, to a task that creates the next
channel's message (``notifications_fall_back``). That service locks the notification and
only ever moves past the notification's latest message, so a redelivered task or a second
report creates nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from audit.services import Actor, AuditEntry, audit_append_many
from hub.messaging.effects import AppliedChanges
from hub.messaging.intake import Origin, notification_next_channels
from hub.messaging.lifecycle import FINAL_STATUSES, Change, messages_transition
from hub.messaging.models import Message, Notification, Routing
from hub.messaging.models import MessageStatus as S

# A message that ends in one of these has not reached the person: try the next channel.
ENDED_BADLY = frozenset({S.BLOCKED, S.FAILED, S.UNDELIVERED, S.BOUNCED})
# Still on its way; overdue ones in the first two are cancelled when the next channel is tried.
NOT_YET_SENT = frozenset({S.ACCEPTED, S.QUEUED, S.DEFERRED})
IN_PROGRESS = NOT_YET_SENT | {S.SENDING, S.SENT}
ROUTING_ACTOR = Actor.system()


def routing_after_transition(applied: AppliedChanges) -> None:
    """Status-change effect: messages that ended badly get a fallback, once this commits."""
    ended = [str(c.message_id) for c in applied.changes if c.to in ENDED_BADLY]
    if ended:
        from hub.messaging.tasks import fall_back

        transaction.on_commit(partial(fall_back.delay, ended))


@dataclass
class FallbackReport:
    created: list[UUID]
    skipped: int = 0


def notifications_fall_back(*, message_ids: Sequence[UUID], reason: str = "") -> FallbackReport:
    """For each message of a ``first``-routed notification that ended badly (or is overdue),
    create the message for the notification's next channel, queued (or blocked for want of
    an address, in which case the channel after it is tried at once).

    Nothing happens if the message is not the notification's latest, the notification has
    no channel left, or it was cancelled: calling this twice creates nothing twice.
    """
    report = FallbackReport(created=[])
    sources = list(
        Message.objects.filter(id__in=list(message_ids), notification__routing=Routing.FIRST).values_list(
            "id", "notification_id"
        )
    )
    for message_id, notification_id in sources:
        created = _fall_back_one(message_id=message_id, notification_id=notification_id, reason=reason)
        if created:
            report.created.extend(created)
        else:
            report.skipped += 1
    return report


def _fall_back_one(*, message_id: UUID, notification_id: UUID, reason: str) -> list[UUID]:
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(of=("self",))
            .select_related("template", "contact")
            .filter(id=notification_id, cancelled_at__isnull=True)
            .first()
        )
        if notification is None:
            return []
        existing = list(notification.messages.order_by("created_at", "id").values_list("id", "channel"))
        if not existing or existing[-1][0] != message_id:
            return []  # not the latest attempt: someone already moved on
        tried = {channel for _, channel in existing}
        remaining = [c for c in notification.channels if c not in tried]
        if not remaining:
            return []
        # The next channel is made by the intake, like any other message, and decided by the
        # compliance rules.
        return notification_next_channels(
            notification=notification,
            channels=remaining,
            origin=Origin("routing", {"fallback_from": str(message_id), "reason": reason}),
            actor=ROUTING_ACTOR,
        )


def messages_fall_back_overdue(*, limit: int = 1000) -> int:
    """Beat: messages past their ``fallback_at`` and not delivered make their notification try
    the next channel; one not yet handed to a provider is cancelled so the person is not
    reached twice. Returns how many messages were overdue."""
    now = timezone.now()
    with transaction.atomic():
        overdue = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(fallback_at__lte=now)
            .values_list("id", "status")[:limit]
        )
        if not overdue:
            return 0
        Message.objects.filter(id__in=[i for i, _ in overdue]).update(fallback_at=None)
        waiting = [i for i, status in overdue if status in IN_PROGRESS]
        cancel = [
            Change(i, S.CANCELLED, detail={"reason": "fallback_timeout"})
            for i, st in overdue
            if st in NOT_YET_SENT
        ]
        messages_transition(cancel, actor=ROUTING_ACTOR, source="routing")
    # Cancelled ones are not "ended badly" for the hook, so every overdue one is handled here.
    notifications_fall_back(message_ids=waiting, reason="not_delivered_in_time")
    return len(overdue)


class NotCancellable(Exception):
    """Every message of the notification has already been handed to a provider or ended."""


def notification_cancel(*, notification: Notification, actor: Actor) -> list[UUID]:
    """Cancel what of a notification has not been sent yet: its accepted, queued and deferred
    messages become ``cancelled`` and no fallback follows. Returns the cancelled ids.

    Raises NotCancellable (changing nothing) if there was nothing left to cancel.
    """
    with transaction.atomic():
        locked = Notification.objects.select_for_update().get(id=notification.id)
        pending = list(
            Message.objects.filter(notification=locked, status__in=NOT_YET_SENT).values_list("id", flat=True)
        )
        if not pending:
            raise NotCancellable("Every message of this notification has already been sent or has ended.")
        result = messages_transition(
            [Change(i, S.CANCELLED, detail={"reason": "cancelled_by_caller"}) for i in pending],
            actor=actor,
            source="api",
        )
        if not result.applied:
            raise NotCancellable("Every message of this notification has already been sent or has ended.")
        locked.cancelled_at = timezone.now()
        locked.save(update_fields=["cancelled_at"])
        audit_append_many(
            [
                AuditEntry(
                    actor,
                    "notification.cancelled",
                    "notification",
                    str(locked.id),
                    {"messages": [str(i) for i in result.applied_ids]},
                )
            ]
        )
    return result.applied_ids


def delivered_channel(messages: Sequence[Message]) -> str:
    """The channel that finally reached the person: the last message delivered, if any."""
    delivered = [m for m in messages if m.status == S.DELIVERED]
    return delivered[-1].channel if delivered else ""


def is_final(status: str) -> bool:
    return status in FINAL_STATUSES
