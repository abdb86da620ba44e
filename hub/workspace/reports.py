"""Reading the rollups: per template, channel and day, with rates, totals and a daily series.

Rollup rows are one per (template, channel, day) and every sum is done by the database, so
a report reads a few hundred aggregated rows however many millions of messages they count.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet, Sum

from hub.messaging.models import DailyRollup

COUNT_FIELDS = ("sent", "delivered", "failed", "bounced", "blocked", "opened", "clicked",
                "unsubscribed", "complained", "segments")  # fmt: skip
SUMS: dict[str, Any] = {name: Sum(name) for name in (*COUNT_FIELDS, "cost")}


@dataclass
class ReportRow:
    day: date | None
    template: str
    channel: str
    counts: dict[str, int] = field(default_factory=dict)
    cost: Decimal = Decimal(0)

    @classmethod
    def from_sums(cls, values: dict[str, Any], *, day: date | None = None) -> ReportRow:
        return cls(
            day=values.get("day", day),
            template=values.get("template__key", ""),
            channel=values.get("channel", ""),
            counts={name: int(values.get(name) or 0) for name in COUNT_FIELDS},
            cost=Decimal(values.get("cost") or 0),
        )

    def rate(self, name: str) -> float | None:
        """``name`` over messages sent, in percent (None when nothing was sent)."""
        sent = self.counts.get("sent", 0)
        return round(100.0 * self.counts.get(name, 0) / sent, 1) if sent else None

    @property
    def delivery_rate(self) -> float | None:
        return self.rate("delivered")

    @property
    def open_rate(self) -> float | None:
        return self.rate("opened")

    @property
    def click_rate(self) -> float | None:
        return self.rate("clicked")

    @property
    def bounce_rate(self) -> float | None:
        return self.rate("bounced")

    @property
    def failure_rate(self) -> float | None:
        return self.rate("failed")


@dataclass(frozen=True)
class Report:
    rows: list[ReportRow]
    total: ReportRow
    daily: list[ReportRow]
    per_day: bool


def _rollups(*, date_from: date, date_to: date, template: str, channel: str) -> QuerySet[DailyRollup]:
    qs = DailyRollup.objects.filter(day__gte=date_from, day__lte=date_to)
    if template:
        qs = qs.filter(template__key=template)
    if channel:
        qs = qs.filter(channel=channel)
    return qs


def report_build(*, date_from: date, date_to: date, template: str = "", channel: str = "") -> Report:
    """Rows per template and channel over the period (per day too when one template is chosen),
    a total, and one row per day for the chart."""
    qs = _rollups(date_from=date_from, date_to=date_to, template=template, channel=channel)
    per_day = bool(template)
    keys = ("day", "template__key", "channel") if per_day else ("template__key", "channel")
    ordering = ("-day", "template__key", "channel") if per_day else ("template__key", "channel")
    rows = [ReportRow.from_sums(v) for v in qs.values(*keys).annotate(**SUMS).order_by(*ordering)]
    by_day: dict[date, dict[str, Any]] = {
        v["day"]: dict(v) for v in qs.values("day").annotate(**SUMS).order_by("day")
    }
    total = ReportRow(None, template or "all", channel or "all")
    for sums in by_day.values():  # a few hundred days: cheaper than another scan
        for name in COUNT_FIELDS:
            total.counts[name] = total.counts.get(name, 0) + int(sums.get(name) or 0)
        total.cost += Decimal(sums.get("cost") or 0)
    daily = []
    day = date_from
    while day <= date_to:
        daily.append(ReportRow.from_sums(by_day.get(day, {}), day=day))
        day += timedelta(days=1)
    return Report(rows, total, daily, per_day)


def report_rows_per_day(
    *, date_from: date, date_to: date, template: str = "", channel: str = ""
) -> Iterator[ReportRow]:
    """Every (day, template, channel) row of the period, newest first (for CSV download)."""
    qs = _rollups(date_from=date_from, date_to=date_to, template=template, channel=channel)
    values = qs.values("day", "template__key", "channel", *COUNT_FIELDS, "cost").order_by(
        "-day", "template__key", "channel"
    )
    for value in values.iterator(chunk_size=5000):
        yield ReportRow.from_sums(value)
