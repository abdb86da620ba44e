"""A journey's send: the one place runs create notifications, through the same intake as the
API (``notifications_accept``, many runs' sends in one call), so compliance decides them like
any send."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from hub.contacts.models import Contact
from hub.journeys.models import JourneyRun, JourneyRunMessage
from hub.messaging.intake import NotificationRejected, NotificationRequest, notifications_accept
from hub.messaging.models import Message, MessageEvent
from hub.messaging.models import MessageStatus as S

# Statuses that mean the message is on its way (or arrived): the step "sent".
UNDER_WAY = frozenset({S.ACCEPTED, S.QUEUED, S.SENDING, S.SENT, S.DELIVERED})


@dataclass(frozen=True)
class SendResult:
    """What compliance and the intake made of a step's send.

    ``outcome``: ``sent`` (a message is on its way), ``deferred`` (waiting for its time, e.g.
    quiet hours), ``blocked`` (every message blocked: ``block_reason`` says why), ``failed``
    (no message could be made, or every one failed: ``error`` says why)."""

    outcome: str
    notification_id: UUID | None = None
    messages: Sequence[Mapping[str, Any]] = field(default_factory=list)
    block_reason: str = ""
    error: str = ""
    not_before: Any = None


def _summary(message: Message) -> dict[str, Any]:
    return {
        "id": str(message.id),
        "channel": message.channel,
        "status": message.status,
        "block_reason": message.block_reason,
        "decided_by": message.decided_by,
    }


def result_of(messages: Sequence[Message], notification_id: UUID | None) -> SendResult:
    """The step's outcome from its messages as they stand now."""
    summaries = [_summary(m) for m in messages]
    statuses = {m.status for m in messages}
    if statuses & UNDER_WAY:
        return SendResult("sent", notification_id, summaries)
    deferred = [m for m in messages if m.status == S.DEFERRED]
    if deferred:
        not_before = min((m.not_before for m in deferred if m.not_before), default=None)
        return SendResult("deferred", notification_id, summaries, not_before=not_before)
    blocked = [m for m in messages if m.status == S.BLOCKED]
    if blocked and len(blocked) == len(messages):
        return SendResult("blocked", notification_id, summaries, block_reason=blocked[0].block_reason)
    return SendResult("failed", notification_id, summaries, error="no message could be sent")


@dataclass(frozen=True)
class SendOrder:
    """One run's send: the step and the data its template gets."""

    run: JourneyRun
    contact: Contact
    step: Mapping[str, Any]
    data: Mapping[str, Any]

    def request(self) -> NotificationRequest:
        step = self.step
        return NotificationRequest(
            template=step["template"],
            to={"external_id": self.contact.external_id},
            data=dict(self.data),
            channels=list(step.get("channels", [])),
            routing=step.get("routing", "first"),
            reference=f"journey:{self.run.journey.key}:{self.run.id}:{step['id']}"[:200],
        )


def runs_send(orders: Sequence[SendOrder]) -> list[SendResult]:
    """Create every order's notification in one intake call (``notifications_accept``, a fixed
    number of queries however many), within the caller's transaction: if the runs' advance
    rolls back, so do the sends, and nothing is enqueued. One result per order, in order."""
    if not orders:
        return []
    accepted = notifications_accept([o.request() for o in orders], api_key=None)
    results: list[SendResult] = []
    links: list[JourneyRunMessage] = []
    for order, notification in zip(orders, accepted, strict=True):
        if isinstance(notification, NotificationRejected):
            results.append(SendResult("failed", error=f"{notification.code}: {notification.detail}"))
            continue
        messages = list(notification.messages.all())  # as the intake wrote them: no query
        links += (
            JourneyRunMessage(
                run=order.run, step=order.step["id"], message_id=m.id, notification_id=notification.id
            )
            for m in messages
        )
        results.append(result_of(messages, notification.id))
    JourneyRunMessage.objects.bulk_create(links)
    return results


def step_result_now(*, run: JourneyRun, step_id: str) -> SendResult:
    """The step's outcome as its messages stand now (after a deferral)."""
    links = list(JourneyRunMessage.objects.filter(run=run, step=step_id))
    messages = list(Message.objects.filter(id__in=[link.message_id for link in links]).order_by("created_at"))
    return result_of(messages, links[0].notification_id if links else None)


def step_reached(*, run: JourneyRun, step_id: str, statuses: Sequence[str]) -> str:
    """The first of ``statuses`` (a status or an engagement such as ``opened``) that one of the
    step's messages has reached, or ""."""
    ids = JourneyRunMessage.objects.filter(run=run, step=step_id).values_list("message_id", flat=True)
    reached = set(
        MessageEvent.objects.filter(message_id__in=ids, status__in=statuses).values_list("status", flat=True)
    )
    return next((s for s in statuses if s in reached), "")
