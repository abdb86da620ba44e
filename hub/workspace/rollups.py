"""Rollups maintained as events arrive: one upsert per (template, channel, day) per batch.

``lifecycle`` calls :func:`rollups_record_transitions` after every applied batch, inside its
transaction, so a count and the status change it counts commit together. Webhooks that
record engagement (opened, clicked, unsubscribed, complained) call
:func:`rollups_record_engagement`.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import connection

from hub.messaging.models import Message
from hub.workspace.models import DailyRollup, DecisionRollup

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
ENGAGEMENT_COUNTERS = frozenset({"opened", "clicked", "unsubscribed", "complained"})
COUNTERS = ("sent", "delivered", "failed", "bounced", "blocked", *sorted(ENGAGEMENT_COUNTERS), "segments")

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


def _segment_cost() -> Decimal:
    return Decimal(str(getattr(settings, "HUB_SMS_COST_PER_SEGMENT", "0")))


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
    decisions: Counter[tuple[date, str, str]] = Counter()
    for r in counted:
        if r.status in {"blocked", "deferred"}:
            reason = str(r.fields.get("block_reason") or r.fields.get("decided_by") or "scheduled")
            decisions[(day, r.status, reason)] += 1
    counted = [r for r in counted if r.status in STATUS_COUNTERS]
    owners = {
        mid: (template_id, channel)
        for mid, template_id, channel in Message.objects.filter(
            id__in={r.message_id for r in counted}
        ).values_list("id", "notification__template_id", "channel")
    }
    groups: dict[tuple[int, str, date], Counter[str]] = defaultdict(Counter)
    costs: dict[Any, Decimal] = defaultdict(Decimal)
    per_segment = _segment_cost()
    for r in counted:
        owner = owners.get(r.message_id)
        if owner is None:
            continue
        key = (owner[0], owner[1], day)
        groups[key][STATUS_COUNTERS[r.status]] += 1
        if r.previous == "sending" and r.status in SKIPPED_SENT:
            groups[key]["sent"] += 1  # a fast provider reported before we recorded "sent"
        if r.status == "sent" and owner[1] == "sms":
            rendered = r.fields.get("rendered") or {}
            segments = sms_segments(str(rendered.get("text", ""))) if isinstance(rendered, dict) else 0
            groups[key]["segments"] += segments
            costs[key] += per_segment * segments
    _upsert_daily(groups, costs)
    _upsert_decisions(decisions)


def rollups_record_engagement(*, events: Iterable[tuple[UUID, str]], at: datetime) -> None:
    """Count engagement events (message id, kind in opened|clicked|unsubscribed|complained).

    For the providers' webhooks: call it in the transaction that stores the MessageEvents.
    Unknown kinds and unknown messages are ignored.
    """
    wanted = [(mid, kind) for mid, kind in events if kind in ENGAGEMENT_COUNTERS]
    if not wanted:
        return
    owners = {
        mid: (template_id, channel)
        for mid, template_id, channel in Message.objects.filter(
            id__in={mid for mid, _ in wanted}
        ).values_list("id", "notification__template_id", "channel")
    }
    groups: dict[tuple[int, str, date], Counter[str]] = defaultdict(Counter)
    for mid, kind in wanted:
        if (owner := owners.get(mid)) is not None:
            groups[(owner[0], owner[1], at.date())][kind] += 1
    _upsert_daily(groups, {})
