"""One contact's history on every channel, newest first: messages with their status
timelines, inbound replies, consent changes, suppressions of their addresses and the journeys
they are or were in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Prefetch, QuerySet

from audit.digests import address_digests
from hub.contacts.models import ConsentEntry, Contact, InboundMessage, Suppression
from hub.journeys.models import JourneyRun
from hub.messaging.models import Message, MessageEvent

TIMELINE_LIMIT = 200


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # message | inbound | consent | suppression | journey
    channel: str
    summary: str
    status: str = ""
    message: Message | None = None
    events: list[MessageEvent] = field(default_factory=list)
    inbound: InboundMessage | None = None


def contact_addresses(contact: Contact) -> set[str]:
    """The addresses a contact is known by (profile and every message sent to them)."""
    addresses = {a for a in (contact.email, contact.phone) if a}
    addresses.update(
        a for a in Message.objects.filter(notification__contact=contact).values_list("to", flat=True) if a
    )
    return addresses


def contact_suppressions(contact: Contact) -> QuerySet[Suppression]:
    digests = {d for a in contact_addresses(contact) for d in address_digests(a)}
    return Suppression.objects.filter(address_hash__in=digests).order_by("-created_at")


def contact_messages(contact: Contact, *, limit: int | None = TIMELINE_LIMIT) -> list[Message]:
    qs = (
        Message.objects.filter(notification__contact=contact)
        .select_related("notification__template")
        .prefetch_related(Prefetch("events", queryset=MessageEvent.objects.order_by("occurred_at", "id")))
        .order_by("-id")
    )
    return list(qs[:limit] if limit is not None else qs)


def contact_timeline(*, contact: Contact, limit: int = TIMELINE_LIMIT) -> list[TimelineEntry]:
    """Everything about one contact, newest first, at most ``limit`` entries of each kind."""
    entries: list[TimelineEntry] = []
    for message in contact_messages(contact, limit=limit):
        events = list(message.events.all())
        template = message.notification.template.key
        entries.append(
            TimelineEntry(
                at=message.created_at,
                kind="message",
                channel=message.channel,
                summary=f"{template} ({message.category})",
                status=message.status
                + (f": {message.get_block_reason_display()}" if message.block_reason else ""),
                message=message,
                events=events,
            )
        )
    for reply in InboundMessage.objects.filter(contact=contact).order_by("-received_at")[:limit]:
        entries.append(
            TimelineEntry(
                at=reply.received_at,
                kind="inbound",
                channel=reply.channel,
                summary=(f"{reply.subject}: " if reply.subject else "") + reply.body,
                status=reply.keyword,
                inbound=reply,
            )
        )
    for consent in ConsentEntry.objects.filter(contact=contact).order_by("-created_at")[:limit]:
        entries.append(
            TimelineEntry(
                at=consent.created_at,
                kind="consent",
                channel=consent.channel,
                summary=f"{consent.purpose} {'granted' if consent.granted else 'withdrawn'} "
                f"({consent.get_source_display()})",
                status="granted" if consent.granted else "withdrawn",
            )
        )
    for suppression in contact_suppressions(contact)[:limit]:
        entries.append(
            TimelineEntry(
                at=suppression.created_at,
                kind="suppression",
                channel=suppression.channel,
                summary=f"address suppressed: {suppression.get_reason_display()}"
                + (" (lifted)" if suppression.lifted_at else ""),
                status=suppression.reason,
            )
        )
    for run in contact_journey_runs(contact, limit=limit):
        entries.append(
            TimelineEntry(
                at=run.created_at,
                kind="journey",
                channel="",
                summary=f"{run.journey.key} v{run.version.number}, at step {run.step}"
                + (f" (exited on {run.exit_event})" if run.exit_event else "")
                + (" (converted)" if run.converted_at else ""),
                status=run.status,
            )
        )
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries


def contact_journey_runs(contact: Contact, *, limit: int = TIMELINE_LIMIT) -> list[JourneyRun]:
    """The contact's journey runs, newest first (each run's own timeline is in its admin page
    and ``GET /api/v1/journey-runs/{id}``)."""
    runs = JourneyRun.objects.filter(contact=contact).select_related("journey", "version")
    return list(runs.order_by("-created_at")[:limit])
