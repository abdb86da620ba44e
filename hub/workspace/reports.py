"""Reading the rollups: per template, channel and day, with rates, totals, a daily series, a
funnel, breakdowns by channel, locale and provider, and why compliance blocked or deferred.

Rollup rows are one per (template, channel, day) (``DailyRollup``), per locale and provider
(``SliceRollup``) and per block or defer reason (``ReasonRollup``); every sum is done by the
database, so a report reads a few hundred aggregated rows however many millions of messages
they count. The admin page (``hub.workspace.admin.reports``) and the API
(``GET /api/v1/reports/templates/{key}``, ``hub.api.reports``) both read them from here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet, Sum

from hub.compliance.models import RuleKind
from hub.messaging.models import BlockReason, CountryRollup, DailyRollup, ReasonRollup, SliceRollup
from hub.messaging.rollups import rollups_fold_accepted
from templates_app.models import Template

COUNT_FIELDS = ("accepted", "sent", "delivered", "failed", "bounced", "blocked", "deferred", "opened",
                "machine_opens", "clicked", "machine_clicks", "unsubscribed", "complained", "converted",
                "segments")  # fmt: skip
SUMS: dict[str, Any] = {name: Sum(name) for name in (*COUNT_FIELDS, "cost")}
# The funnel a marketer reads, in order. Opens and clicks are human ones (machine opens and
# clicks are counted apart); they are events, so a message opened twice counts twice.
FUNNEL = (("accepted", "Accepted"), ("sent", "Sent"), ("delivered", "Delivered"), ("opened", "Opened"),
          ("clicked", "Clicked"), ("converted", "Converted"))  # fmt: skip
SLICE_FIELDS = ("accepted", "sent", "delivered", "failed", "blocked", "deferred", "opened", "clicked")
# What a provider was handed (a provider slice shows these; accepted, blocked and deferred come first).
HANDED_FIELDS = ("sent", "delivered", "failed", "opened", "clicked")

# Why a message was blocked or deferred, in words (reason codes are for machines).
REASON_WORDS: dict[str, str] = {
    **{str(code): str(label) for code, label in BlockReason.choices},
    **{str(code): str(label) for code, label in RuleKind.choices},
    "scheduled": "Waiting for the send time the caller chose",
    "unknown": "No reason recorded",
}


def reason_words(reason: str) -> str:
    return REASON_WORDS.get(reason, reason.replace("_", " ").capitalize())


def _percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


class Rates:
    """Rates over a ``counts`` mapping (a row of a report or a slice)."""

    counts: dict[str, int]

    def rate(self, name: str) -> float | None:
        """``name`` over messages sent, in percent (None when nothing was sent)."""
        return _percent(self.counts.get(name, 0), self.counts.get("sent", 0))

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

    @property
    def conversion_rate(self) -> float | None:
        """Conversions over messages delivered, in percent."""
        return _percent(self.counts.get("converted", 0), self.counts.get("delivered", 0))


@dataclass
class ReportRow(Rates):
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


@dataclass(frozen=True)
class Slice(Rates):
    """The counts of one locale or one provider over the period."""

    name: str
    counts: dict[str, int]
    label: str = ""


@dataclass(frozen=True)
class Reason:
    outcome: str
    code: str
    count: int

    @property
    def words(self) -> str:
        return reason_words(self.code)


@dataclass(frozen=True)
class CountryCost:
    """What was sent to one destination country over the period, and what it cost."""

    country: str  # ISO 3166 alpha-2; "" for email and push
    sent: int
    segments: int
    cost: Decimal

    @property
    def label(self) -> str:
        return self.country or "No country (email, push)"


@dataclass(frozen=True)
class Report:
    rows: list[ReportRow]
    total: ReportRow
    daily: list[ReportRow]
    per_day: bool
    channels: list[ReportRow] = field(default_factory=list)
    locales: list[Slice] = field(default_factory=list)
    providers: list[Slice] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)
    countries: list[CountryCost] = field(default_factory=list)

    @property
    def funnel(self) -> list[tuple[str, int]]:
        return [(label, self.total.counts.get(name, 0)) for name, label in FUNNEL]


def _filtered(
    qs: QuerySet[Any], *, date_from: date, date_to: date, template: str, channel: str
) -> QuerySet[Any]:
    qs = qs.filter(day__gte=date_from, day__lte=date_to)
    if template:
        qs = qs.filter(template__key=template)
    if channel:
        qs = qs.filter(channel=channel)
    return qs


def _slices(dimension: str, **filters: Any) -> list[Slice]:
    sums = (
        _filtered(SliceRollup.objects.all(), **filters)
        .values(dimension)
        .annotate(**{n: Sum(n) for n in SLICE_FIELDS})
        .order_by(dimension)
    )
    blank = {"locale": "Default locale", "provider": "Not handed to a provider"}[dimension]
    slices = [
        Slice(v[dimension], {n: int(v[n] or 0) for n in SLICE_FIELDS}, v[dimension] or blank) for v in sums
    ]
    if dimension == "provider":
        # Accepted, blocked and deferred are counted before a provider is chosen: a provider's
        # row holds what it was handed, and the blank row only what reached none (failed).
        slices = [s for s in slices if s.name or any(s.counts[n] for n in HANDED_FIELDS)]
    return sorted(slices, key=lambda s: (-s.counts["sent"], -s.counts["accepted"], s.name))


def report_reasons(**filters: Any) -> list[Reason]:
    """Why compliance blocked or deferred over the period, summed per outcome and reason (the
    ``ReasonRollup`` rows), most frequent first within each outcome."""
    sums = (
        _filtered(ReasonRollup.objects.all(), **filters)
        .values("outcome", "reason")
        .annotate(n=Sum("count"))
        .order_by("outcome", "-n", "reason")
    )
    return [Reason(v["outcome"], v["reason"], int(v["n"] or 0)) for v in sums]


def _countries(**filters: Any) -> list[CountryCost]:
    sums = (
        _filtered(CountryRollup.objects.all(), **filters)
        .values("country")
        .annotate(sent=Sum("sent"), segments=Sum("segments"), cost=Sum("cost"))
        .order_by("-cost", "country")
    )
    return [
        CountryCost(v["country"], int(v["sent"] or 0), int(v["segments"] or 0), v["cost"] or Decimal(0))
        for v in sums
    ]


def report_build(*, date_from: date, date_to: date, template: str = "", channel: str = "") -> Report:
    """Rows per template and channel over the period (per day too when one template is chosen),
    a total, one row per day for the charts, a row per channel, the breakdowns by locale and by
    provider, and the block and defer reasons."""
    filters: dict[str, Any] = {
        "date_from": date_from,
        "date_to": date_to,
        "template": template,
        "channel": channel,
    }
    rollups_fold_accepted()  # every committed acceptance counted, not only the folded ones
    qs = _filtered(DailyRollup.objects.all(), **filters)
    per_day = bool(template)
    keys = ("day", "template__key", "channel") if per_day else ("template__key", "channel")
    ordering = ("-day", "template__key", "channel") if per_day else ("template__key", "channel")
    rows = [ReportRow.from_sums(v) for v in qs.values(*keys).annotate(**SUMS).order_by(*ordering)]
    by_day: dict[date, dict[str, Any]] = {
        v["day"]: dict(v) for v in qs.values("day").annotate(**SUMS).order_by("day")
    }
    channels = [
        ReportRow.from_sums({**v, "template__key": template or "all"})
        for v in qs.values("channel").annotate(**SUMS).order_by("channel")
    ]
    total = ReportRow(None, template or "all", channel or "all", dict.fromkeys(COUNT_FIELDS, 0))
    for row in channels:  # a handful of channels: cheaper than another scan
        for name in COUNT_FIELDS:
            total.counts[name] += row.counts[name]
        total.cost += row.cost
    daily = []
    day = date_from
    while day <= date_to:
        daily.append(ReportRow.from_sums(by_day.get(day, {}), day=day))
        day += timedelta(days=1)
    return Report(
        rows,
        total,
        daily,
        per_day,
        channels=channels,
        locales=_slices("locale", **filters),
        providers=_slices("provider", **filters),
        reasons=report_reasons(**filters),
        countries=_countries(**filters),
    )


def report_rows_per_day(
    *, date_from: date, date_to: date, template: str = "", channel: str = ""
) -> Iterator[ReportRow]:
    """Every (day, template, channel) row of the period, newest first (for CSV download)."""
    rollups_fold_accepted()
    qs = _filtered(
        DailyRollup.objects.all(), date_from=date_from, date_to=date_to, template=template, channel=channel
    )
    values = qs.values("day", "template__key", "channel", *COUNT_FIELDS, "cost").order_by(
        "-day", "template__key", "channel"
    )
    for value in values.iterator(chunk_size=5000):
        yield ReportRow.from_sums(value)


MAX_REPORT_DAYS = 366
DEFAULT_REPORT_DAYS = 30


class ReportPeriodRefused(ValueError):
    """A period a report cannot cover; ``field`` is ``date_from`` or ``date_to``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def report_period(*, date_from: date | None, date_to: date | None, today: date) -> tuple[date, date]:
    """The report's first and last day: ``date_to`` defaults to today and ``date_from`` to 30
    days ending there. Raises ReportPeriodRefused for an end before the start, more than
    MAX_REPORT_DAYS days, or an end more than a year away (no figures there, and day 9999-12-31
    has no next day to count to)."""
    date_to = date_to or today
    if date_to > today + timedelta(days=MAX_REPORT_DAYS):
        raise ReportPeriodRefused("date_to", "The end date is more than a year from today.")
    if date_from is None:  # (not before 0001-01-01)
        date_from = date_to - timedelta(days=min(DEFAULT_REPORT_DAYS - 1, (date_to - date.min).days))
    if date_from > date_to:
        raise ReportPeriodRefused("date_to", "The end date is before the start date.")
    if (date_to - date_from).days >= MAX_REPORT_DAYS:
        raise ReportPeriodRefused("date_from", f"A report covers at most {MAX_REPORT_DAYS} days.")
    return date_from, date_to


def template_report(
    *,
    key: str,
    date_from: date,
    date_to: date,
    categories: Iterable[str] | None = None,
    keys: Iterable[str] | None = None,
) -> Report | None:
    """One template's report over the period (every channel), or None when there is no such
    template among those the caller may see (``categories`` and ``keys``: None for all)."""
    templates = Template.objects.filter(key=key)
    if categories is not None:
        templates = templates.filter(category__in=list(categories))
    if keys is not None:
        templates = templates.filter(key__in=list(keys))
    if not templates.exists():
        return None
    return report_build(date_from=date_from, date_to=date_to, template=key)
