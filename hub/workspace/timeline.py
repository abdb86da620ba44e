"""One contact's history on every channel, newest first: messages with their status trails,
rendered content and compliance decisions, inbound replies, consent changes, suppressions of
their addresses, the journeys they are or were in and (for those who may read the audit log)
the audit records about them.

Bounded whatever the contact's history: each kind is one indexed query with a LIMIT (the
messages' events one more), whatever the filters, so a contact with 10,000 messages reads as
fast as one with ten. Older entries are reached with the ``before`` cursor."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from audit.digests import address_digests
from audit.models import AuditRecord
from hub.contacts.masking import address_shown
from hub.contacts.models import ConsentEntry, Contact, InboundMessage, Suppression
from hub.journeys.models import JourneyRun
from hub.messaging.models import Message, MessageEvent
from templates_app.models import Category, Channel

TIMELINE_LIMIT = 200

# What support filters by -> the entry kinds it covers (suppressions are read with consent).
KIND_GROUPS: dict[str, tuple[str, ...]] = {
    "messages": ("message",),
    "inbound": ("inbound",),
    "consent": ("consent", "suppression"),
    "journeys": ("journey",),
    "audit": ("audit",),
}


@dataclass(frozen=True)
class TimelineFilters:
    """Which entries to read. Empty fields filter nothing. ``status`` is a message status and
    leaves the other kinds out; ``channel`` leaves out what has none (journeys, audit).
    ``since`` is inclusive, ``until`` and ``before`` (the paging cursor) exclusive."""

    kinds: frozenset[str] = frozenset()  # of KIND_GROUPS' keys
    channel: str = ""
    status: str = ""
    since: datetime | None = None
    until: datetime | None = None
    before: datetime | None = None

    def wants(self, kind: str) -> bool:
        if self.status and kind != "message":
            return False
        if self.channel and kind in ("journey", "audit"):
            return False
        return not self.kinds or any(kind in KIND_GROUPS[k] for k in self.kinds if k in KIND_GROUPS)

    def q(self, at: str, *, channel: bool = True) -> Q:
        """The filters on ``at`` (the entry's time field) and on ``channel`` where it has one."""
        q = Q()
        if self.channel and channel:
            q &= Q(channel=self.channel)
        if self.since is not None:
            q &= Q(**{f"{at}__gte": self.since})
        if self.until is not None:
            q &= Q(**{f"{at}__lt": self.until})
        if self.before is not None:
            q &= Q(**{f"{at}__lt": self.before})
        return q


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # message | inbound | consent | suppression | journey | audit
    channel: str
    summary: str
    status: str = ""
    message: Message | None = None
    events: list[MessageEvent] = field(default_factory=list)
    inbound: InboundMessage | None = None
    run: JourneyRun | None = None
    record: AuditRecord | None = None
    # The address it went to or came from, masked unless the viewer may see addresses.
    address: str = ""
    # A message's compliance "why", and what the person received (subject, text, html...).
    decision_sentence: str = ""
    rendered: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TimelinePage:
    """Up to ``limit`` entries, newest first; ``older`` is the cursor of the next page (None
    when there is nothing older)."""

    entries: list[TimelineEntry]
    older: datetime | None = None


@dataclass(frozen=True)
class ConsentState:
    channel: str
    category: str
    granted: bool | None  # None: no ledger entry
    since: datetime | None = None
    source: str = ""


def contact_addresses(contact: Contact) -> set[str]:
    """The addresses a contact is known by (profile and every message sent to them)."""
    addresses = {a for a in (contact.email, contact.phone) if a}
    addresses.update(
        a
        for a in Message.objects.filter(notification__contact=contact)
        .exclude(to="")
        .order_by()
        .values_list("to", flat=True)
        .distinct()
    )
    return addresses


def contact_suppressions(contact: Contact) -> QuerySet[Suppression]:
    digests = {d for a in contact_addresses(contact) for d in address_digests(a)}
    return Suppression.objects.filter(address_hash__in=digests).order_by("-created_at")


def contact_messages(contact: Contact, *, limit: int | None = TIMELINE_LIMIT) -> list[Message]:
    return list(_messages(contact, TimelineFilters(), limit))


def _messages(contact: Contact, filters: TimelineFilters, limit: int | None) -> QuerySet[Message]:
    qs = (
        Message.objects.filter(filters.q("created_at"), notification__contact=contact)
        .select_related("notification__template")
        .prefetch_related(Prefetch("events", queryset=MessageEvent.objects.order_by("occurred_at", "id")))
        # Not by id: with a LIMIT the planner would walk the whole table's primary key backwards
        # looking for this contact's rows (a rare status never found: every message read).
        # created_at has no index, so the plan starts from the contact's notifications.
        .order_by("-created_at", "-id")
    )
    if filters.status:
        qs = qs.filter(status=filters.status)
    return qs[:limit] if limit is not None else qs


def contact_consent_overview(contact: Contact) -> list[ConsentState]:
    """The current consent per channel and category (the ledger's latest entry of each), every
    channel and category listed, those without an entry as ``granted=None``. One query."""
    latest: dict[tuple[str, str], ConsentState] = {}
    for entry in ConsentEntry.objects.filter(contact=contact).order_by("created_at", "id"):
        latest[(entry.channel, entry.purpose)] = ConsentState(
            entry.channel, entry.purpose, entry.granted, entry.created_at, entry.get_source_display()
        )
    return [
        latest.get((channel, category), ConsentState(channel, category, None))
        for channel in Channel.values
        for category in Category.values
    ]


def contact_timeline(
    *,
    contact: Contact,
    filters: TimelineFilters | None = None,
    limit: int = TIMELINE_LIMIT,
    show_addresses: bool = False,
    include_audit: bool = False,
) -> TimelinePage:
    """Everything about one contact that ``filters`` let through, newest first, at most
    ``limit`` entries. Addresses are masked unless ``show_addresses``; audit records are read
    only with ``include_audit`` (for those who may read the audit log)."""
    filters = filters or TimelineFilters()
    take = limit + 1  # one more of each kind tells whether anything is older than the page
    entries: list[TimelineEntry] = []
    if filters.wants("message"):
        for message in _messages(contact, filters, take):
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
                    events=list(message.events.all()),
                    address=address_shown(message.to, visible=show_addresses),
                    decision_sentence=str((message.decision or {}).get("sentence", "")),
                    rendered=dict(message.rendered or {}),
                )
            )
    if filters.wants("inbound"):
        inbound = InboundMessage.objects.filter(filters.q("received_at"), contact=contact)
        for reply in inbound.order_by("-received_at")[:take]:
            entries.append(
                TimelineEntry(
                    at=reply.received_at,
                    kind="inbound",
                    channel=reply.channel,
                    summary=(f"{reply.subject}: " if reply.subject else "") + reply.body,
                    status=reply.get_keyword_display() if reply.keyword else "",  # words, not "opt_out"
                    inbound=reply,
                    address=address_shown(reply.from_address, visible=show_addresses),
                )
            )
    if filters.wants("consent"):
        consents = ConsentEntry.objects.filter(filters.q("created_at"), contact=contact)
        for consent in consents.order_by("-created_at")[:take]:
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
    if filters.wants("suppression"):
        for suppression in contact_suppressions(contact).filter(filters.q("created_at"))[:take]:
            entries.append(
                TimelineEntry(
                    at=suppression.created_at,
                    kind="suppression",
                    channel=suppression.channel,
                    summary=f"address suppressed: {suppression.get_reason_display()}"
                    + (" (lifted)" if suppression.lifted_at else ""),
                    status="lifted" if suppression.lifted_at else "in force",  # its reason is in the summary
                    address=address_shown(suppression.address, visible=show_addresses),
                )
            )
    if filters.wants("journey"):
        for run in contact_journey_runs(contact, limit=take, filters=filters):
            entries.append(
                TimelineEntry(
                    at=run.created_at,
                    kind="journey",
                    channel="",
                    summary=f"{run.journey.key} v{run.version.number}, at step {run.step}"
                    + (f" (exited on {run.exit_event})" if run.exit_event else "")
                    + (" (converted)" if run.converted_at else ""),
                    status=run.status,
                    run=run,
                )
            )
    if include_audit and filters.wants("audit"):
        records = AuditRecord.objects.filter(
            filters.q("created_at", channel=False), object_type="contact", object_id=str(contact.pk)
        )
        for record in records.order_by("-created_at", "-seq")[:take]:  # not seq: see _messages
            payload = record.payload if isinstance(record.payload, dict) else {}
            entries.append(
                TimelineEntry(
                    at=record.created_at,
                    kind="audit",
                    channel=str(payload.get("channel", "")),
                    summary=record.action,
                    status=f"{record.get_actor_type_display()} {record.actor_id}".strip(),
                    record=record,
                )
            )
    entries.sort(key=lambda e: e.at, reverse=True)
    if len(entries) > limit:
        return TimelinePage(entries[:limit], older=entries[limit - 1].at)
    return TimelinePage(entries)


def contact_journey_runs(
    contact: Contact, *, limit: int = TIMELINE_LIMIT, filters: TimelineFilters | None = None
) -> list[JourneyRun]:
    """The contact's journey runs, newest first (each run's own timeline is in its admin page
    and ``GET /api/v1/journey-runs/{id}``)."""
    q = (filters or TimelineFilters()).q("created_at", channel=False)
    runs = JourneyRun.objects.filter(q, contact=contact).select_related("journey", "version")
    return list(runs.order_by("-created_at")[:limit])
