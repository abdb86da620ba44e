"""Searching messages for the compliance workspace, fast at millions of rows.

Message ids are UUIDv7, so ordering by id is ordering by creation time: pages are taken by
keyset (``id < last id seen``) on the primary key, and a date range becomes an id range on
that same index. Nothing ever counts the whole table.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Prefetch, QuerySet

from hub.compliance.models import RuleVersion
from hub.messaging.models import Message, MessageEvent

PAGE_SIZE = 50


def uuid7_floor(moment: datetime) -> uuid.UUID:
    """The smallest UUIDv7 that can be minted at ``moment`` (millisecond precision)."""
    millis = int(moment.timestamp() * 1000)
    return uuid.UUID(int=(millis & ((1 << 48) - 1)) << 80)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _rule_versions(key: str) -> list[str]:
    """Every "key vN" a decision of this rule can name: exact values, so the search walks the
    (decided_by, id) index newest first instead of scanning for a prefix."""
    numbers = RuleVersion.objects.filter(rule__key=key).values_list("number", flat=True)
    return [f"{key} v{number}" for number in numbers]


@dataclass(frozen=True)
class MessageFilters:
    """What a compliance officer can search by; empty values do not filter."""

    address: str = ""
    contact: str = ""
    template: str = ""
    channel: str = ""
    status: str = ""
    block_reason: str = ""
    rule: str = ""
    date_from: date | None = None
    date_to: date | None = None

    def queryset(self) -> QuerySet[Message]:
        qs = Message.objects.all()
        if self.address:
            qs = qs.filter(to=self.address.strip())
        if self.contact:
            qs = qs.filter(notification__contact__external_id=self.contact.strip())
        if self.template:
            qs = qs.filter(notification__template__key=self.template.strip())
        if self.channel:
            qs = qs.filter(channel=self.channel)
        if self.status:
            qs = qs.filter(status=self.status)
        if self.block_reason:
            qs = qs.filter(block_reason=self.block_reason)
        if self.rule:
            # "rule_key" matches every version of the rule; "rule_key v3" just that one.
            rule = self.rule.strip()
            qs = qs.filter(decided_by__in=[rule] if " v" in rule else _rule_versions(rule))
        if self.date_from:
            qs = qs.filter(id__gte=uuid7_floor(_day_start(self.date_from)))
        if self.date_to:
            qs = qs.filter(id__lt=uuid7_floor(_day_start(self.date_to + timedelta(days=1))))
        return qs


@dataclass(frozen=True)
class MessagePage:
    messages: list[Message]
    next_cursor: str = ""
    filters: MessageFilters = field(default_factory=MessageFilters)


def _parse_cursor(cursor: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(cursor) if cursor else None
    except ValueError:
        return None


def messages_search(*, filters: MessageFilters, cursor: str = "", limit: int = PAGE_SIZE) -> MessagePage:
    """One page of matching messages, newest first, and the cursor of the next page ("" if none).

    A cursor is the id of the last message on the previous page; a malformed one starts over.
    """
    qs = filters.queryset().select_related("notification__template", "notification__contact")
    after = _parse_cursor(cursor)
    if after is not None:
        qs = qs.filter(id__lt=after)
    rows = list(qs.order_by("-id")[: limit + 1])
    next_cursor = str(rows[limit - 1].id) if len(rows) > limit else ""
    return MessagePage(rows[:limit], next_cursor, filters)


def messages_export(*, filters: MessageFilters, chunk_size: int = 2000) -> Iterator[Message]:
    """Every matching message, newest first, streamed in keyset chunks (for CSV export)."""
    after: uuid.UUID | None = None
    base = filters.queryset().select_related("notification__template", "notification__contact")
    while True:
        qs = base if after is None else base.filter(id__lt=after)
        rows = list(qs.order_by("-id")[:chunk_size])
        yield from rows
        if len(rows) < chunk_size:
            return
        after = rows[-1].id


def message_detail(*, message_id: uuid.UUID) -> Message | None:
    """One message with its notification, template, contact and full timeline."""
    return (
        Message.objects.filter(id=message_id)
        .select_related("notification__template", "notification__template_version", "notification__contact")
        .prefetch_related(Prefetch("events", queryset=MessageEvent.objects.order_by("occurred_at", "id")))
        .first()
    )
