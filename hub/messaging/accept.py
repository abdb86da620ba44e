"""Accepting a notification: resolve template and recipient, create its messages, enqueue.

Everything is written in one transaction; the send tasks are enqueued only once it has
committed, so a rolled-back request enqueues nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from audit.rows import rows_insert
from audit.services import Actor, AuditEntry
from hub.apikeys.models import ApiKey
from hub.apikeys.services import apikey_may_send
from hub.contacts.models import Contact
from hub.messaging import dispatch, routing
from hub.messaging.acceptance import accepted_entries
from hub.messaging.decide import messages_decide
from hub.messaging.lifecycle import (
    EVENT_COLUMNS,
    TransitionResult,
    messages_as_transitioned,
    messages_transition,
    transition_events,
)
from hub.messaging.models import EventKind, Message, MessageEvent, Notification, Routing
from hub.messaging.models import MessageStatus as S
from templates_app.models import Template, TemplateApproval, TemplateVersion
from templates_app.rendering import validate_data, version_channels


class NotificationRejected(Exception):
    """The request cannot be accepted. ``code`` is stable; ``field`` names the culprit."""

    def __init__(self, code: str, detail: str, *, field: str = "", status: int = 422) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.field = field
        self.status = status


@dataclass(frozen=True)
class NotificationRequest:
    """A validated request (the API's serializer has checked types and address syntax)."""

    template: str
    to: Mapping[str, Any]
    data: Mapping[str, Any] = field(default_factory=dict)
    channels: Sequence[str] = ()
    routing: str = Routing.FIRST
    locale: str = ""
    reference: str = ""
    send_at: datetime | None = None


def _live_version(template_key: str) -> tuple[Template, TemplateVersion, int | None]:
    """The template, its live version and the id of that version's latest approval (one query)."""
    latest_approval = (
        TemplateApproval.objects.filter(version=OuterRef("live_version"))
        .order_by("-approved_at")
        .values("pk")[:1]
    )
    template = (
        Template.objects.select_related("live_version")
        .annotate(approval_id=Subquery(latest_approval))
        .filter(key=template_key)
        .first()
    )
    if template is None:
        raise NotificationRejected(
            "unknown_template", f"There is no template with the key '{template_key}'.", field="template"
        )
    version = template.live_version
    if version is None:
        raise NotificationRejected(
            "template_not_live",
            f"Template '{template_key}' has no approved version yet.",
            field="template",
        )
    return template, version, template.approval_id


def _resolve_contact(to: Mapping[str, Any]) -> Contact | None:
    external_id = to.get("external_id")
    if not external_id:
        return None
    contact = Contact.objects.filter(external_id=external_id).first()
    if contact is None:
        raise NotificationRejected(
            "unknown_contact",
            f"There is no contact with external_id '{external_id}'.",
            field="to.external_id",
        )
    return contact


def _address(channel: str, to: Mapping[str, Any], contact: Contact | None) -> str:
    if channel == "sms":
        return str(to.get("phone") or (contact.phone if contact else ""))
    if channel == "email":
        return str(to.get("email") or (contact.email if contact else ""))
    if channel == "push":
        # One message per notification: the contact's newest active device (see addressing.py).
        if to.get("push"):
            return str(to["push"])
        device = (
            contact.devices.filter(removed_at__isnull=True).order_by("-created_at", "-pk").first()
            if contact
            else None
        )
        return f"device:{device.pk}" if device else ""
    return ""


def notification_accept(
    *, request: NotificationRequest, api_key: ApiKey | None, version: TemplateVersion | None = None
) -> Notification:
    """Accept one notification. Raises NotificationRejected (and writes nothing) if it can't.

    On return, its messages are queued, deferred until ``send_at``, or blocked with a reason,
    and the send tasks will be enqueued when the caller's transaction commits. The returned
    notification holds its messages and their timelines as written (no need to read them back). ``version``
    (staff test sends only) renders that version instead of the live one, pinning no approval.
    """
    if version is None:
        template, version, approval_id = _live_version(request.template)
    else:
        template, approval_id = version.template, None
    if api_key is not None and not apikey_may_send(
        api_key=api_key, template_key=template.key, category=template.category
    ):
        raise NotificationRejected(
            "template_not_allowed",
            f"This API key's scopes do not allow sending '{template.key}' ({template.category}).",
            field="template",
            status=403,
        )
    contact = _resolve_contact(request.to)
    available = version_channels(version)
    channels = list(request.channels) or available
    for channel in channels:
        if channel not in available:
            raise NotificationRejected(
                "channel_not_in_template",
                f"Template '{template.key}' has no {channel} content; it has {', '.join(available)}.",
                field="channels",
            )
    locale = request.locale or (contact.locale if contact else "") or template.default_locale
    if problems := validate_data(version, request.data):
        raise NotificationRejected(
            "invalid_data", " ".join(p.message for p in problems), field=problems[0].field
        )

    actor = Actor.api_key(api_key.pk) if api_key else Actor.system()
    now = timezone.now()
    deferred = request.send_at is not None and request.send_at > now
    with transaction.atomic():
        notification = Notification.objects.create(
            api_key=api_key,
            template=template,
            template_version=version,
            template_approval_id=approval_id,
            contact=contact,
            to=dict(request.to),
            data=dict(request.data),
            channels=channels,
            routing=request.routing,
            locale=locale,
            reference=request.reference,
            send_at=request.send_at,
        )
        targets = _target_channels(channels, request, contact)
        # Issue 7: fallback when not delivered in time; only a first-routed choice of channels has one.
        waits = (
            routing.fallback_waits(template) if request.routing == Routing.FIRST and len(channels) > 1 else {}
        )
        start = request.send_at if deferred and request.send_at else now
        messages = [
            Message(
                notification=notification,
                channel=channel,
                category=template.category,
                to=_address(channel, request.to, contact),
                locale=locale,
                not_before=request.send_at if deferred else None,
                fallback_at=routing.fallback_deadline(
                    waits, channel=channel, channels=channels, routing=request.routing, start=start
                ),
            )
            for channel in targets
        ]
        Message.objects.bulk_create(messages)
        accepted_events = [
            MessageEvent(message=m, kind=EventKind.STATUS, status=S.ACCEPTED, source="api", occurred_at=now)
            for m in messages
        ]
        rows_insert(
            MessageEvent, EVENT_COLUMNS, ([getattr(e, c) for c in EVENT_COLUMNS] for e in accepted_events)
        )
        # Written with the decisions' records in one append at the end of the transaction,
        # so the chain head (every writer's lock) is held for as short a time as possible.
        accepted = [
            AuditEntry(
                actor,
                "notification.accepted",
                "notification",
                str(notification.id),
                {
                    "template": template.key,
                    "version": version.number,
                    "approval": approval_id,
                    "contact": contact.pk if contact else None,
                    "channels": channels,
                    "routing": request.routing,
                    "send_at": request.send_at.isoformat() if request.send_at else None,
                },
            ),
            *accepted_entries(actor, messages),
        ]
        changes = messages_decide(
            messages,
            contacts={m.id: contact for m in messages},
            now=now,
            send_at=request.send_at if deferred else None,
        )
        result = messages_transition(
            changes, actor=actor, source="api", audit_before=accepted, held={m.id: m.status for m in messages}
        )
        queued = [c.message_id for c in result.applied if c.to == S.QUEUED]
        dispatch.enqueue_on_commit(
            queued, category=template.category, channels={m.id: m.channel for m in messages}
        )
    _attach_timelines(
        notification, messages, [*accepted_events, *transition_events(result, source="api")], result
    )
    return notification


def _attach_timelines(
    notification: Notification, messages: list[Message], events: list[MessageEvent], result: TransitionResult
) -> None:
    """Give the notification its messages and their timelines as this acceptance wrote them,
    as ``prefetch_related`` would have (so the caller answers without reading them back)."""
    messages_as_transitioned(messages, result)
    by_message: dict[Any, list[MessageEvent]] = {m.id: [] for m in messages}
    for event in sorted(events, key=lambda e: e.occurred_at):
        by_message[event.message_id].append(event)
    for message in messages:
        events_of = _evaluated(message.events.all(), by_message[message.id])
        message._prefetched_objects_cache = {"events": events_of}  # type: ignore[attr-defined]
    messages_of = _evaluated(notification.messages.all(), messages)
    notification._prefetched_objects_cache = {"messages": messages_of}  # type: ignore[attr-defined]


def _evaluated(queryset: QuerySet[Any], rows: list[Any]) -> QuerySet[Any]:
    """``queryset`` holding ``rows``, as prefetch_related leaves its querysets: related
    managers answer ``all()`` from it; ``filter()``, ``get()`` and the like still query."""
    queryset._result_cache = rows
    queryset._prefetch_done = True  # type: ignore[attr-defined]
    return queryset


def _target_channels(
    channels: Sequence[str], request: NotificationRequest, contact: Contact | None
) -> list[str]:
    """``all``: every channel. ``first``: channels in order up to the first with an address
    (the ones before it are kept, blocked for want of an address, so the record is complete)."""
    if request.routing == Routing.ALL:
        return list(channels)
    targets: list[str] = []
    for channel in channels:
        targets.append(channel)
        if _address(channel, request.to, contact):
            break
    return targets
