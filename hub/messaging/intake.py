"""The intake: the one way notifications and their messages are made.

Every door calls it: the API (one notification, or a batch of up to 1,000), a broadcast's
fan-out (a batch of recipients at a time), a ``first``-routed notification falling back to its
next channel (``notification_next_channels``), and staff test sends. Whatever the door, a
message is made the same way:

1. the template is pinned: its live version and that version's latest approval;
2. each item is checked (the key's scopes, the contact, the channels, the data); a bad item is
   refused alone, with a ``NotificationRejected`` in its place in the answer;
3. in one transaction, with a fixed number of queries whatever the batch size: notifications,
   messages (addressed by ``addressing.address_of``), their ``accepted`` events, the audit
   records (``notification.accepted``, ``acceptance.accepted_entries``), the compliance
   decisions (``decide.messages_decide``) applied through ``lifecycle.messages_transition``;
4. the queued messages are enqueued when the transaction commits (``dispatch.enqueue_on_commit``),
   so a rolled-back caller enqueues nothing.
"""

from __future__ import annotations

import operator
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db.models import Model, QuerySet
from django.utils import timezone

from audit.rows import instance_made, rows_batched, rows_insert
from audit.services import Actor, AuditEntry
from hub.apikeys.models import ApiKey
from hub.apikeys.services import apikey_may_send
from hub.contacts.models import Contact
from hub.contacts.selectors import contacts_by_external_id
from hub.ids import uuid7
from hub.messaging import dispatch
from hub.messaging.acceptance import accepted_entries
from hub.messaging.addressing import address_of, newest_devices
from hub.messaging.decide import messages_decide
from hub.messaging.fallback_policies import fallback_deadline, fallback_waits
from hub.messaging.lifecycle import TransitionResult, messages_transition, transition_events
from hub.messaging.live_templates import LiveTemplate, live_templates
from hub.messaging.models import (
    TEST_SEND_REFERENCE_PREFIX,
    AcceptedPending,
    Message,
    MessageEvent,
    Notification,
    Routing,
)
from hub.messaging.models import MessageStatus as S
from hub.messaging.rollups import ACCEPTED_PENDING_COLUMNS, accepted_pending_rows
from hub.refusals import Refused
from templates_app.models import TemplateVersion
from templates_app.rendering import validate_data, version_channels
from templates_app.rendering.variables import without_reserved

# Every column of a notification: rows are built as instances (the decisions, audit records
# and answers read them), then written as they are (the messages by the lifecycle).
NOTIFICATION_COLUMNS = tuple(f.attname for f in Notification._meta.concrete_fields)
# A row read from an instance's ``__dict__``: made by ``instance_made``, it holds every column;
# read as attributes, each foreign key's went through its descriptor (a Python call, six).
_notification_values = operator.itemgetter(*NOTIFICATION_COLUMNS)


class NotificationRejected(Refused):
    """The notification cannot be accepted (``unknown_template``, ``template_not_live``,
    ``template_not_allowed``, ``unknown_contact``, ``channel_not_in_template``, ``invalid_data``)."""


@dataclass(frozen=True)
class NotificationRequest:
    """A validated request (the API's serializer has checked types and address syntax).

    ``broadcast_recipient_id`` and ``audit_detail`` are set by a broadcast's fan-out only: the
    row the notification is made for, and what its ``notification.accepted`` record adds."""

    template: str
    to: Mapping[str, Any]
    data: Mapping[str, Any] = field(default_factory=dict)
    channels: Sequence[str] = ()
    routing: str = Routing.FIRST
    locale: str = ""
    reference: str = ""
    send_at: datetime | None = None
    broadcast_recipient_id: int | None = None
    audit_detail: Mapping[str, Any] = field(default_factory=dict)
    sms_sender: str = ""
    email_reply_to: str = ""


@dataclass(frozen=True)
class Origin:
    """Which door: the ``source`` of the timeline events, and what each ``accepted`` event and
    ``message.accepted`` record says of it (e.g. the broadcast, or the message fallen back from)."""

    source: str
    detail: Mapping[str, Any] = field(default_factory=dict)


API = Origin("api")

Accepted = Notification | NotificationRejected


@dataclass
class _Draft:
    """A notification to write and the channels to make messages for, with their addresses."""

    notification: Notification
    contact: Contact | None
    targets: list[tuple[str, str]]
    category: str
    waits: Mapping[str, int]
    send_at: datetime | None  # the caller's send_at, when still in the future


def notification_accept(
    *, request: NotificationRequest, api_key: ApiKey | None, version: TemplateVersion | None = None
) -> Notification:
    """Accept one notification. Raises NotificationRejected (and writes nothing) if it can't.

    On return, its messages are queued, deferred until ``send_at``, or blocked with a reason,
    and the send tasks will be enqueued when the caller's transaction commits. The returned
    notification holds its messages and their timelines as written (no need to read them back).
    ``version`` (staff test sends only) renders that version instead of the live one, pinning
    no approval.
    """
    (result,) = notifications_accept([request], api_key=api_key, version=version)
    if isinstance(result, NotificationRejected):
        raise result
    return result


def notifications_accept(
    requests: Sequence[NotificationRequest],
    *,
    api_key: ApiKey | None,
    origin: Origin = API,
    version: TemplateVersion | None = None,
    timelines: bool = True,
) -> list[Accepted]:
    """Accept many notifications at once: one result per request, in order, either the
    notification (as ``notification_accept`` returns it; without its timelines unless
    ``timelines``) or the NotificationRejected that refused that request alone.

    One transaction (the caller's, if it has one) and a fixed number of queries whatever the
    number of requests. ``version`` pins that version for every request (staff test sends).
    """
    now = timezone.now()
    if version is None:
        pinned = live_templates({r.template for r in requests})
    else:
        pinned = {r.template: LiveTemplate(version.template, version, None) for r in requests}
    contacts = _contacts_of(requests)
    results: list[Accepted | None] = [None] * len(requests)
    checked: list[tuple[int, NotificationRequest, LiveTemplate, Contact | None, list[str]]] = []
    allowed = _Scopes(api_key)
    for index, request in enumerate(requests):
        try:
            live, contact, channels = _check(request, pinned, contacts, allowed)
        except NotificationRejected as exc:
            results[index] = exc
        else:
            checked.append((index, request, live, contact, channels))
    if not checked:
        return [r for r in results if r is not None]

    push_contacts = {
        contact.pk
        for _, request, _, contact, channels in checked
        if contact is not None and "push" in channels and not request.to.get("push")
    }
    devices = newest_devices(push_contacts)
    needs_waits = {
        live.template.pk
        for _, request, live, _, channels in checked
        if request.routing == Routing.FIRST and len(channels) > 1
    }
    waits = fallback_waits(needs_waits)
    actor = Actor.api_key(api_key.pk) if api_key else Actor.system()
    drafts: list[_Draft] = []
    audit: list[AuditEntry] = []
    for index, request, live, contact, channels in checked:
        draft = _draft(request, live, contact, channels, api_key=api_key, devices=devices, now=now)
        draft.waits = waits.get(live.template.pk, {})
        drafts.append(draft)
        audit.append(_accepted_record(actor, draft, live, request))
        results[index] = draft.notification

    # Its few-row INSERTs go as one statement at the end (audit.rows.rows_batched), after the
    # decisions' reads: the notifications are written with their messages, once decided.
    with rows_batched():
        written = _messages_write(
            drafts, actor=actor, origin=origin, now=now, audit_before=audit, notifications_new=True
        )
    if timelines:
        _attach_timelines(drafts, written)
    return [r for r in results if r is not None]


def notification_next_channels(
    *, notification: Notification, channels: Sequence[str], origin: Origin, actor: Actor
) -> list[UUID]:
    """Make the messages of a ``first``-routed notification's next channels, from the first
    of ``channels`` up to the first with an address (the ones before it are made, blocked for
    want of one), decided like any other message. Call it inside the transaction that holds
    the notification's lock. Returns the new messages' ids."""
    contact = notification.contact
    devices = newest_devices([contact.pk] if contact is not None and "push" in channels else [])
    now = timezone.now()
    draft = _Draft(
        notification=notification,
        contact=contact,
        targets=_targets(channels, Routing.FIRST, notification.to, contact, devices),
        category=notification.template.category,
        waits=fallback_waits([notification.template_id]).get(notification.template_id, {}),
        send_at=None,
    )
    with rows_batched(savepoint=False):
        messages, _, _ = _messages_write([draft], actor=actor, origin=origin, now=now, audit_before=[])
    return [m.id for m in messages]


class _Scopes:
    """Whether the key may send a template, asked once per template in a batch."""

    def __init__(self, api_key: ApiKey | None) -> None:
        self.api_key = api_key
        self.seen: dict[str, bool] = {}

    def __call__(self, live: LiveTemplate) -> bool:
        if self.api_key is None:
            return True
        key = live.template.key
        if key not in self.seen:
            self.seen[key] = apikey_may_send(
                api_key=self.api_key, template_key=key, category=live.template.category
            )
        return self.seen[key]


def _contacts_of(requests: Iterable[NotificationRequest]) -> dict[str, Contact]:
    """The contacts the requests name by ``external_id`` (one query)."""
    return contacts_by_external_id(str(r.to["external_id"]) for r in requests if r.to.get("external_id"))


def _check(
    request: NotificationRequest,
    pinned: Mapping[str, LiveTemplate],
    contacts: Mapping[str, Contact],
    may_send: _Scopes,
) -> tuple[LiveTemplate, Contact | None, list[str]]:
    """The request's template, contact and channels, or the NotificationRejected that refuses it."""
    live = pinned.get(request.template)
    if live is None:
        raise NotificationRejected(
            "unknown_template", f"There is no template with the key '{request.template}'.", field="template"
        )
    if live.version is None:
        raise NotificationRejected(
            "template_not_live",
            f"Template '{request.template}' has no approved version yet.",
            field="template",
        )
    template = live.template
    if not may_send(live):
        raise NotificationRejected(
            "template_not_allowed",
            f"This API key's scopes do not allow sending '{template.key}' ({template.category}).",
            field="template",
            status=403,
        )
    contact: Contact | None = None
    if external_id := request.to.get("external_id"):
        contact = contacts.get(str(external_id))
        if contact is None:
            raise NotificationRejected(
                "unknown_contact",
                f"There is no contact with external_id '{external_id}'.",
                field="to.external_id",
            )
    available = version_channels(live.version)
    channels = list(request.channels) or available
    for channel in channels:
        if channel not in available:
            raise NotificationRejected(
                "channel_not_in_template",
                f"Template '{template.key}' has no {channel} content; it has {', '.join(available)}.",
                field="channels",
            )
    if problems := validate_data(live.version, request.data):
        raise NotificationRejected(
            "invalid_data", " ".join(p.message for p in problems), field=problems[0].field
        )
    return live, contact, channels


def _targets(
    channels: Sequence[str],
    routing: str,
    to: Mapping[str, Any],
    contact: Contact | None,
    devices: Mapping[int, int],
) -> list[tuple[str, str]]:
    """``all``: every channel. ``first``: channels in order up to the first with an address
    (the ones before it are kept, blocked for want of an address, so the record is complete)."""
    targets: list[tuple[str, str]] = []
    for channel in channels:
        address = address_of(channel, to, contact, devices)
        targets.append((channel, address))
        if address and routing == Routing.FIRST:
            break
    return targets


def _draft(
    request: NotificationRequest,
    live: LiveTemplate,
    contact: Contact | None,
    channels: list[str],
    *,
    api_key: ApiKey | None,
    devices: Mapping[int, int],
    now: datetime,
) -> _Draft:
    template, version = live.template, live.version
    assert version is not None  # noqa: S101 - _check refused the others
    notification = instance_made(
        Notification,
        id=uuid7(),
        api_key=api_key,
        template=template,
        template_version=version,
        template_approval_id=live.approval_id,
        contact=contact,
        to=dict(request.to),
        data=without_reserved(request.data),  # the hub fills unsubscribe_url itself
        channels=channels,
        routing=request.routing,
        locale=request.locale or (contact.locale if contact else "") or template.default_locale,
        reference=request.reference,
        send_at=request.send_at,
        created_at=now,
        broadcast_recipient_id=request.broadcast_recipient_id,
        sms_sender=request.sms_sender,
        email_reply_to=request.email_reply_to,
    )
    return _Draft(
        notification=notification,
        contact=contact,
        targets=_targets(channels, request.routing, request.to, contact, devices),
        category=template.category,
        waits={},
        send_at=request.send_at if request.send_at is not None and request.send_at > now else None,
    )


def _accepted_record(
    actor: Actor, draft: _Draft, live: LiveTemplate, request: NotificationRequest
) -> AuditEntry:
    notification = draft.notification
    assert live.version is not None  # noqa: S101 - _check refused the others
    return AuditEntry(
        actor,
        "notification.accepted",
        "notification",
        str(notification.id),
        {
            "template": live.template.key,
            "version": live.version.number,
            "approval": live.approval_id,
            "contact": draft.contact.pk if draft.contact else None,
            "channels": notification.channels,
            "routing": notification.routing,
            "send_at": request.send_at.isoformat() if request.send_at else None,
            **request.audit_detail,
        },
    )


def _messages_write(
    drafts: Sequence[_Draft],
    *,
    actor: Actor,
    origin: Origin,
    now: datetime,
    audit_before: Sequence[AuditEntry],
    notifications_new: bool = False,
) -> tuple[list[Message], list[MessageEvent], TransitionResult]:
    """Make the drafts' messages, decide them, write them through the lifecycle in their
    decided status with their ``accepted`` and decided events and the audit records, and
    enqueue the queued ones on commit (a fixed number of queries). Runs in the caller's
    transaction. ``notifications_new``: the drafts' notifications are not written yet; they
    are, after the decisions (every read before every write)."""
    messages: list[Message] = []
    contact_of: dict[UUID, Contact | None] = {}
    send_at_of: dict[UUID, datetime | None] = {}
    category_of: dict[UUID, str] = {}
    # Each message's key of the pending "accepted" count, from its notification (read once).
    pending: list[tuple[int, str, str, bool]] = []
    for draft in drafts:
        notification = draft.notification
        start = draft.send_at or now
        channels = notification.channels
        template_id = notification.template_id
        test_send = notification.reference.startswith(TEST_SEND_REFERENCE_PREFIX)
        for channel, address in draft.targets:
            message = instance_made(
                Message,
                id=uuid7(),
                notification=notification,
                channel=channel,
                category=draft.category,
                to=address,
                locale=notification.locale,
                not_before=draft.send_at,
                fallback_at=fallback_deadline(
                    dict(draft.waits),
                    channel=channel,
                    channels=channels,
                    routing=notification.routing,
                    start=start,
                ),
                created_at=now,
                status_changed_at=now,
            )
            messages.append(message)
            contact_of[message.id] = draft.contact
            send_at_of[message.id] = draft.send_at
            category_of[message.id] = draft.category
            pending.append((template_id, channel, notification.locale, test_send))
    changes = messages_decide(messages, contacts=contact_of, now=now, send_at_of=send_at_of)
    if notifications_new:
        notifications = [d.notification for d in drafts]
        rows_insert(
            Notification, NOTIFICATION_COLUMNS, [_notification_values(n.__dict__) for n in notifications]
        )
        _saved(notifications)
    # Counted "accepted" by an append of its own, folded into the rollups later (no shared
    # rollup row to wait on inside the accept): see ``rollups.rollups_fold_accepted``.
    rows_insert(
        AcceptedPending,
        ACCEPTED_PENDING_COLUMNS,
        accepted_pending_rows(pending, day=now.date()),
    )
    # Written with the decisions' records in one append at the end of the transaction, so the
    # chain head (every writer's lock) is held for as short a time as possible.
    audit = [*audit_before, *accepted_entries(actor, messages, origin.detail or None)]
    # The lifecycle writes the messages already in their decided status, each with its
    # "accepted" and decided events (one INSERT of the rows, one of the events).
    result = messages_transition(
        changes,
        actor=actor,
        source=origin.source,
        audit_before=audit,
        new=messages,
        new_detail=origin.detail,
        acceptance_counted=[m.id for m in messages],
        occurred_at=now,  # the decision is the accept's: its day is the pending count's
    )
    queued: dict[str, list[UUID]] = defaultdict(list)
    for change in result.applied:
        if change.to == S.QUEUED:
            queued[category_of[change.message_id]].append(change.message_id)
    channel_of = {m.id: m.channel for m in messages}
    for category, ids in queued.items():
        dispatch.enqueue_on_commit(ids, category=category, channels=channel_of)
    return messages, transition_events(result, source=origin.source), result


def _saved(rows: Sequence[Notification]) -> None:
    """Mark instances written with COPY as saved, as the ORM would have."""
    for row in rows:
        row._state.adding = False
        row._state.db = "default"


def _attach_timelines(
    drafts: Sequence[_Draft], written: tuple[list[Message], list[MessageEvent], TransitionResult]
) -> None:
    """Give each notification its messages and their timelines as this acceptance wrote them,
    as ``prefetch_related`` would have (so the caller answers without reading them back)."""
    messages, events, _ = written
    # The messages stand as written already: the lifecycle set their instances (``new``).
    # Grouped by their ids' integers: a UUID hashes in Python, an int in C.
    by_message: dict[int, list[MessageEvent]] = {m.id.int: [] for m in messages}
    for event in sorted(events, key=_occurred_at):
        by_message[event.message_id.int].append(event)
    by_notification: dict[int, list[Message]] = {d.notification.id.int: [] for d in drafts}
    for message in messages:
        timeline = by_message[message.id.int]
        for event in timeline:
            # Shown events read their message's address: no query. The cache the relation's
            # descriptor fills (its message_id is this message's already).
            event._state.fields_cache["message"] = message
        message._prefetched_objects_cache = HeldRows(message, events=timeline)  # type: ignore[attr-defined]
        by_notification[message.notification_id.int].append(message)
    for draft in drafts:
        notification = draft.notification
        notification._prefetched_objects_cache = HeldRows(  # type: ignore[attr-defined]
            notification, messages=by_notification[notification.id.int]
        )


_occurred_at = operator.attrgetter("occurred_at")


class HeldRows(dict[str, Any]):
    """An instance's ``_prefetched_objects_cache`` as ``prefetch_related`` leaves it, for rows
    held already (the intake's messages and events, as written): the related manager's
    ``all()`` answers them, ``filter()``, ``get()`` and the like still query. Each relation's
    queryset (a clone and its filters: a fifth of a batch item's CPU when made for every
    message and notification) is made only when something asks for it; an answer reads the
    rows (``rows``) without one."""

    def __init__(self, instance: Model, /, **rows: list[Any]) -> None:
        super().__init__()
        self.instance = instance
        self.waiting = rows

    def rows(self, name: str) -> list[Any] | None:
        """The rows held for the relation ``name`` (None if none are), without a queryset."""
        waiting = self.waiting.get(name)
        if waiting is not None:
            return waiting
        return getattr(dict.get(self, name), "_result_cache", None)

    def __missing__(self, name: str) -> QuerySet[Any]:
        # Out of ``waiting`` first: the related manager, not finding it here, makes its own
        # queryset (filtered to the instance), which then holds the rows.
        rows = self.waiting.pop(name, None)
        if rows is None:
            raise KeyError(name)
        queryset: QuerySet[Any] = getattr(self.instance, name).all()
        queryset._result_cache = rows
        queryset._prefetch_done = True  # type: ignore[attr-defined]
        self[name] = queryset
        return queryset

    def _made(self) -> None:
        for name in list(self.waiting):
            self.__missing__(name)

    def __contains__(self, name: object) -> bool:
        return name in self.waiting or super().__contains__(name)

    def get(self, name: str, default: Any = None) -> Any:
        if name not in self:
            return default
        return self[name]

    def pop(self, name: str, *default: Any) -> Any:
        if name in self.waiting:
            self.__missing__(name)
        return super().pop(name, *default)

    def __delitem__(self, name: str) -> None:
        self.pop(name)

    def __iter__(self) -> Iterator[str]:
        self._made()
        return super().__iter__()

    def __len__(self) -> int:
        return super().__len__() + len(self.waiting)

    def keys(self) -> Any:
        self._made()
        return super().keys()

    def values(self) -> Any:
        self._made()
        return super().values()

    def items(self) -> Any:
        self._made()
        return super().items()

    def copy(self) -> dict[str, Any]:
        self._made()
        return dict(self)
