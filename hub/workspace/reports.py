"""Reading the rollups: per template, channel and day, with rates, totals and a daily series.

Rollup rows are one per (template, channel, day), so a year of reports reads at most a few
thousand rows however many millions of messages they count.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from hub.workspace.models import DailyRollup

COUNT_FIELDS = ("sent", "delivered", "failed", "bounced", "blocked", "opened", "clicked",
                "unsubscribed", "complained", "segments")  # fmt: skip


@dataclass
class ReportRow:
    day: date | None
    template: str
    channel: str
    counts: dict[str, int] = field(default_factory=dict)
    cost: Decimal = Decimal(0)

    def add(self, rollup: DailyRollup) -> None:
        for name in COUNT_FIELDS:
            self.counts[name] = self.counts.get(name, 0) + getattr(rollup, name)
        self.cost += rollup.cost

    def rate(self, name: str) -> float | None:
        """``name`` over messages sent (None when nothing was sent)."""
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


def report_build(*, date_from: date, date_to: date, template: str = "", channel: str = "") -> Report:
    """Rows per (day, template, channel), newest day first; a total; one row per day for charts."""
    qs = DailyRollup.objects.filter(day__gte=date_from, day__lte=date_to).select_related("template")
    if template:
        qs = qs.filter(template__key=template)
    if channel:
        qs = qs.filter(channel=channel)
    rows: list[ReportRow] = []
    total = ReportRow(None, template or "all", channel or "all")
    by_day: dict[date, ReportRow] = defaultdict(lambda: ReportRow(None, "", ""))
    for rollup in qs.order_by("-day", "template__key", "channel"):
        row = ReportRow(rollup.day, rollup.template.key, rollup.channel)
        row.add(rollup)
        rows.append(row)
        total.add(rollup)
        by_day[rollup.day].add(rollup)
    daily = []
    day = date_from
    while day <= date_to:
        row = by_day.get(day) or ReportRow(None, "", "")
        row.day = day
        daily.append(row)
        day += timedelta(days=1)
    return Report(rows, total, daily)
