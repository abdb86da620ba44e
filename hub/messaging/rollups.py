"""The write side of the reports' rollups: one upsert per (template, channel, day) per batch.

:func:`rollups_record_transitions` is a status-change effect (``hub.messaging.effects``,
registered by this app): it runs after every applied batch, inside its transaction, so a
count and the status change it counts commit together. The feedback path
(``hub.messaging.feedback.outcomes_apply``) counts engagement (opened, clicked, unsubscribed,
complained, machine opens and clicks, conversions) with :func:`rollups_record_engagement`.
The cost of a message is counted when it is sent, from ``hub.tracking.pricing`` (the price
table); a provider's reported price arriving later replaces it (:func:`rollups_record_cost`).
Cost is a Decimal in the price table's currency (major units, 4 decimals). :func:`rollups_rebuild` recounts them all
from the messages' timelines (``manage.py rollups_backfill``). ``hub.workspace.reports`` reads
them.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db import connection, transaction

from hub.messaging.effects import AppliedChanges
from hub.messaging.models import (
    TEST_SEND_REFERENCE_PREFIX,
    DailyRollup,
    DecisionRollup,
    EventKind,
    Message,
    MessageEvent,
)
from hub.tracking.models import MessagePrice
from hub.tracking.pricing import PriceBook, price_book

# Status reached → the counter it adds to. "undelivered" is a failure to deliver.
STATUS_COUNTERS: Mapping[str, str] = {
    "sent": "sent",
    "delivered": "delivered",
    "undelivered": "failed",
    "failed": "failed",
    "bounced": "bounced",
    "blocked": "blocked",
}
# Reached straight from "sending": the message was handed off, so it counts as sent too.
SKIPPED_SENT = frozenset({"delivered", "undelivered", "bounced"})
# Engagement event (its ``status`` on the timeline) → the counter it adds to. Machine opens and
# clicks (privacy proxies, link scanners: ``hub.tracking``) are counted apart from people's;
# "converted" is a goal event attributed to the message (``hub.tracking.conversions``).
ENGAGEMENT_COUNTERS: Mapping[str, str] = {
    "opened": "opened",
    "clicked": "clicked",
    "unsubscribed": "unsubscribed",
    "complained": "complained",
    "machine_open": "machine_opens",
    "machine_click": "machine_clicks",
    "converted": "converted",
}
COUNTERS = (
    "sent",
    "delivered",
    "failed",
    "bounced",
    "blocked",
    *sorted(ENGAGEMENT_COUNTERS.values()),
    "segments",
)

GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")


def sms_segments(text: str) -> int:
    """How many SMS segments a text takes: GSM-7 (160, or 153 per part) or UCS-2 (70, or 67)."""
    if not text:
        return 0
    if all(c in GSM7 or c in GSM7_EXTENDED for c in text):
        units = sum(2 if c in GSM7_EXTENDED else 1 for c in text)
        return 1 if units <= 160 else math.ceil(units / 153)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)


@dataclass(frozen=True)
class StatusReached:
    """One message reaching a status, with what the transition set (from lifecycle)."""

    message_id: UUID
    status: str
    fields: Mapping[str, Any]
    previous: str = ""


def _upsert_daily(groups: Mapping[tuple[int, str, date], Counter[str]], costs: Mapping[Any, Decimal]) -> None:
    if not groups:
        return
    table = DailyRollup._meta.db_table
    columns = ("template_id", "channel", "day", *COUNTERS, "cost")
    rows: list[Any] = []
    # Sorted so that concurrent writers lock rollup rows in the same order (no deadlocks).
    for key in sorted(groups):
        counts = groups[key]
        rows.extend([*key, *(counts.get(name, 0) for name in COUNTERS), costs.get(key, Decimal(0))])
    placeholders = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(groups))
    increments = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in (*COUNTERS, "cost"))
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES {placeholders} "  # noqa: S608 - names are ours
        f"ON CONFLICT (template_id, channel, day) DO UPDATE SET {increments}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, rows)


def _upsert_decisions(groups: Mapping[tuple[date, str, str], int]) -> None:
    if not groups:
        return
    table = DecisionRollup._meta.db_table
    rows: list[Any] = []
    for key in sorted(groups):
        rows.extend([*key, groups[key]])
    placeholders = ", ".join(["(%s, %s, %s, %s)"] * len(groups))
    sql = (
        f"INSERT INTO {table} (day, outcome, reason, count) VALUES {placeholders} "  # noqa: S608
        f"ON CONFLICT (day, outcome, reason) DO UPDATE SET count = {table}.count + excluded.count"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, rows)


def segments_of(rendered: Any) -> int:
    return sms_segments(str(rendered.get("text", ""))) if isinstance(rendered, dict) else 0


def rollups_after_transition(applied: AppliedChanges) -> None:
    """Status-change effect: count the batch (registered by ``MessagingConfig.ready``)."""
    rollups_record_transitions(
        reached=[StatusReached(c.message_id, c.to, c.fields, p) for c, p in applied.with_previous()],
        at=applied.changed_at,
    )


def _decision_reason(fields: Mapping[str, Any]) -> str:
    return str(fields.get("block_reason") or fields.get("decided_by") or "scheduled")


def rollups_record_transitions(*, reached: Sequence[StatusReached], at: datetime) -> None:
    """Count a batch of status changes into the day's rollups: one query to find each message's
    template and channel, then one upsert for all (template, channel, day) groups touched.

    Callers can rely on the counts changing in the caller's transaction, so they commit or
    roll back with the status changes they count.
    """
    counted = [r for r in reached if r.status in STATUS_COUNTERS or r.status == "deferred"]
    if not counted:
        return
    day = at.date()
    # Staff test sends are never counted (issue 20): one query finds each counted message's
    # template and channel, test sends left out.
    owners = {
        mid: (template_id, channel, to)
        for mid, template_id, channel, to in Message.objects.filter(id__in={r.message_id for r in counted})
        .exclude(notification__reference__startswith=TEST_SEND_REFERENCE_PREFIX)
        .values_list("id", "notification__template_id", "channel", "to")
    }
    counted = [r for r in counted if r.message_id in owners]
    decisions: Counter[tuple[date, str, str]] = Counter()
    for r in counted:
        if r.status in {"blocked", "deferred"}:
            decisions[(day, r.status, _decision_reason(r.fields))] += 1
    counted = [r for r in counted if r.status in STATUS_COUNTERS]
    groups: dict[tuple[int, str, date], Counter[str]] = defaultdict(Counter)
    costs: dict[Any, Decimal] = defaultdict(Decimal)
    book: PriceBook | None = None
    for r in counted:
        owner = owners.get(r.message_id)
        if owner is None:
            continue
        key = (owner[0], owner[1], day)
        groups[key][STATUS_COUNTERS[r.status]] += 1
        if r.previous == "sending" and r.status in SKIPPED_SENT:
            groups[key]["sent"] += 1  # a fast provider reported before we recorded "sent"
        if r.status == "sent":
            segments = segments_of(r.fields.get("rendered")) if owner[1] == "sms" else 0
            groups[key]["segments"] += segments
            book = book or price_book()
            costs[key] += book.cost(channel=owner[1], to=owner[2], segments=segments)
    _upsert_daily(groups, costs)
    _upsert_decisions(decisions)


def rollups_record_engagement(*, events: Iterable[tuple[UUID, str]], at: datetime) -> None:
    """Count engagement events (message id, kind: a key of ``ENGAGEMENT_COUNTERS``).

    ``hub.messaging.feedback`` calls it in the transaction that stores the engagement events,
    with ``at`` their time. Unknown kinds and unknown messages are ignored.
    """
    wanted = [(mid, kind) for mid, kind in events if kind in ENGAGEMENT_COUNTERS]
    if not wanted:
        return
    owners = {
        mid: (template_id, channel)
        for mid, template_id, channel in Message.objects.filter(id__in={mid for mid, _ in wanted})
        .exclude(notification__reference__startswith=TEST_SEND_REFERENCE_PREFIX)
        .values_list("id", "notification__template_id", "channel")
    }
    groups: dict[tuple[int, str, date], Counter[str]] = defaultdict(Counter)
    for mid, kind in wanted:
        if (owner := owners.get(mid)) is not None:
            groups[(owner[0], owner[1], at.date())][ENGAGEMENT_COUNTERS[kind]] += 1
    _upsert_daily(groups, {})


def rollups_record_cost(*, message_id: UUID, delta: Decimal, day: date) -> None:
    """Add ``delta`` to the cost of the message's (template, channel, day): a provider's
    reported price replacing the price table's estimate counted when the message was sent."""
    owner = Message.objects.filter(id=message_id).values_list("notification__template_id", "channel").first()
    if owner is None or not delta:
        return
    _upsert_daily({(owner[0], owner[1], day): Counter()}, {(owner[0], owner[1], day): delta})


@dataclass
class RebuildReport:
    messages: int = 0
    events: int = 0
    daily_rows: int = 0
    decision_rows: int = 0


def rollups_rebuild(
    *, chunk_size: int = 2000, progress: Callable[[int, int], None] | None = None
) -> RebuildReport:
    """Recount every rollup from the messages' timelines and replace the rollup rows: the
    counts the live effects would have made (status events on their day, engagement events
    on theirs, SMS segments from the rendered text, compliance blocks and deferrals by
    reason). Running it twice gives the same rows.

    The rollup tables are locked (``SHARE ROW EXCLUSIVE``) for the whole run, so no count is
    lost or doubled: a status change or engagement report that would add to them waits
    until the rebuild commits, then adds to the rebuilt rows. ``progress(done, total)`` is
    called after each chunk of messages.
    """
    report = RebuildReport()
    groups: dict[tuple[int, str, date], Counter[str]] = defaultdict(Counter)
    costs: dict[Any, Decimal] = defaultdict(Decimal)
    decisions: Counter[tuple[date, str, str]] = Counter()
    book = price_book()
    with transaction.atomic():
        with connection.cursor() as cursor:
            tables = f"{DailyRollup._meta.db_table}, {DecisionRollup._meta.db_table}"
            cursor.execute(f"LOCK TABLE {tables} IN SHARE ROW EXCLUSIVE MODE")
        total = Message.objects.count()
        messages = (
            Message.objects.exclude(notification__reference__startswith=TEST_SEND_REFERENCE_PREFIX)
            .order_by("id")
            .values_list("id", "channel", "notification__template_id", "rendered", "to")
        )
        last: Any = None
        while True:
            page = list((messages.filter(id__gt=last) if last is not None else messages)[:chunk_size])
            if not page:
                break
            last = page[-1][0]
            owners = {
                mid: (template_id, channel, rendered, to) for mid, channel, template_id, rendered, to in page
            }
            reported = dict(
                MessagePrice.objects.filter(message_id__in=list(owners)).values_list("message_id", "amount")
            )
            previous: dict[Any, str] = {}
            events = (
                MessageEvent.objects.filter(message_id__in=list(owners))
                .filter(kind__in=(EventKind.STATUS, EventKind.ENGAGEMENT))
                .order_by("message_id", "occurred_at", "id")
                .values_list("message_id", "kind", "status", "detail", "occurred_at")
            )
            for mid, kind, status, detail, occurred_at in events:
                report.events += 1
                template_id, channel, rendered, to = owners[mid]
                key = (template_id, channel, occurred_at.date())
                if kind == EventKind.ENGAGEMENT:
                    if status in ENGAGEMENT_COUNTERS:
                        groups[key][ENGAGEMENT_COUNTERS[status]] += 1
                    continue
                before, previous[mid] = previous.get(mid, ""), status
                if status in {"blocked", "deferred"}:
                    decisions[(key[2], status, _decision_reason(detail or {}))] += 1
                if status not in STATUS_COUNTERS:
                    continue
                groups[key][STATUS_COUNTERS[status]] += 1
                if before == "sending" and status in SKIPPED_SENT:
                    groups[key]["sent"] += 1
                if status == "sent":
                    segments = segments_of(rendered) if channel == "sms" else 0
                    groups[key]["segments"] += segments
                    price = reported.get(mid)
                    costs[key] += (
                        price if price is not None else book.cost(channel=channel, to=to, segments=segments)
                    )
            report.messages += len(page)
            if progress is not None:
                progress(report.messages, total)
        DailyRollup.objects.all().delete()
        DecisionRollup.objects.all().delete()
        DailyRollup.objects.bulk_create(
            (
                DailyRollup(
                    template_id=template_id,
                    channel=channel,
                    day=day,
                    cost=costs.get((template_id, channel, day), Decimal(0)),
                    **{name: counts.get(name, 0) for name in COUNTERS},
                )
                for (template_id, channel, day), counts in sorted(groups.items())
            ),
            batch_size=1000,
        )
        DecisionRollup.objects.bulk_create(
            (
                DecisionRollup(day=day, outcome=outcome, reason=reason, count=count)
                for (day, outcome, reason), count in sorted(decisions.items())
            ),
            batch_size=1000,
        )
    report.daily_rows, report.decision_rows = len(groups), len(decisions)
    return report
