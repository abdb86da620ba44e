"""The write side of the reports' rollups: one upsert per (template, channel, day) per batch.

:func:`rollups_record_transitions` is a status-change effect (``hub.messaging.effects``,
registered by this app): it runs after every applied batch, inside its transaction, so a
count and the status change it counts commit together. The feedback path
(``hub.messaging.feedback.outcomes_apply``) counts engagement (opened, clicked, unsubscribed,
complained, machine opens and clicks, conversions) with :func:`rollups_record_engagement`.
The cost of a message is counted when it is sent, from ``hub.tracking.pricing`` (the price
table); a provider's reported price arriving later replaces it (:func:`rollups_record_cost`).
Cost is a Decimal in the price table's currency (major units, 4 decimals). Staff test sends are
never counted. :func:`rollups_rebuild` recounts them all from the messages' timelines
(``manage.py rollups_backfill``). ``hub.workspace.reports`` reads them.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import phonenumbers
from django.db import connection, transaction

from hub.contacts.selectors import phone_country, phone_parsed
from hub.messaging.effects import AppliedChanges
from hub.messaging.models import (
    TEST_SEND_REFERENCE_PREFIX,
    AcceptedPending,
    CountryRollup,
    DailyRollup,
    DecisionRollup,
    EventKind,
    Message,
    MessageEvent,
    ReasonRollup,
    SliceRollup,
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
COUNTERS = ("sent", "delivered", "failed", "bounced", "blocked", *sorted(ENGAGEMENT_COUNTERS.values()), "segments",
            "accepted", "deferred")  # fmt: skip
# The breakdowns by locale and provider (``SliceRollup``) count fewer things.
SLICE_COUNTERS = ("accepted", "sent", "delivered", "failed", "blocked", "deferred", "opened", "clicked")
PRE_HANDOFF = frozenset({"accepted", "blocked", "deferred"})

GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")
GSM7_ANY = GSM7 | GSM7_EXTENDED


def sms_segments(text: str) -> int:
    """How many SMS segments a text takes: GSM-7 (160, or 153 per part) or UCS-2 (70, or 67)."""
    if not text:
        return 0
    # Set operations and map over the text: no Python call per character.
    if GSM7_ANY.issuperset(text):
        units = len(text) + sum(map(GSM7_EXTENDED.__contains__, text))
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
    # False when the intake counted this message's acceptance itself (``AcceptedPending``).
    counts_acceptance: bool = True


def _upsert(
    table: str,
    keys: Sequence[str],
    counters: Sequence[str],
    groups: Mapping[tuple[Any, ...], Mapping[str, Any]],
) -> None:
    """One ``INSERT … ON CONFLICT DO UPDATE`` adding ``groups`` (key → counts) to ``table``."""
    if not groups:
        return
    columns = (*keys, *counters)
    rows: list[Any] = []
    # Sorted so that concurrent writers lock rollup rows in the same order (no deadlocks).
    for key in sorted(groups):
        counts = groups[key]
        rows.extend([*key, *(counts.get(name, 0) for name in counters)])
    placeholders = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(groups))
    increments = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in counters)
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES {placeholders} "  # noqa: S608 - names are ours
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {increments}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, rows)


def _upsert_daily(groups: Mapping[tuple[int, str, date], Counter[str]], costs: Mapping[Any, Decimal]) -> None:
    merged = {key: {**counts, "cost": costs.get(key, Decimal(0))} for key, counts in groups.items()}
    _upsert(DailyRollup._meta.db_table, ("template_id", "channel", "day"), (*COUNTERS, "cost"), merged)


def _upsert_slices(slices: Mapping[tuple[int, str, date, str, str], Counter[str]]) -> None:
    keys = ("template_id", "channel", "day", "locale", "provider")
    _upsert(SliceRollup._meta.db_table, keys, SLICE_COUNTERS, slices)


def _upsert_countries(
    countries: Mapping[tuple[int, str, date, str], Counter[str]], costs: Mapping[Any, Decimal]
) -> None:
    keys = ("template_id", "channel", "day", "country")
    merged = {key: {**counts, "cost": costs.get(key, Decimal(0))} for key, counts in countries.items()}
    _upsert(CountryRollup._meta.db_table, keys, ("sent", "segments", "cost"), merged)


def country_of(channel: str, to: str) -> str:
    """The destination country of an SMS (ISO 3166 alpha-2, from its E.164 number); "" for the
    other channels and for numbers without one."""
    if channel != "sms" or not to.startswith("+"):
        return ""
    # The parse and region from the per-process phone facts (hub.contacts.selectors: what
    # phonenumbers answers, the number matched once), not parsed and matched anew per message.
    number = phone_parsed(to)
    if number is None:
        return ""
    # A number outside any allocated range still has its country code's main country.
    region = phone_country(to) or phonenumbers.region_code_for_country_code(number.country_code or 0)
    return "" if region in ("ZZ", "001") else region


def _upsert_reasons(reasons: Mapping[tuple[int, str, date, str, str], int]) -> None:
    keys = ("template_id", "channel", "day", "outcome", "reason")
    _upsert(ReasonRollup._meta.db_table, keys, ("count",), {k: {"count": n} for k, n in reasons.items()})


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
    counted = applied.acceptance_counted
    rollups_record_transitions(
        reached=[
            StatusReached(c.message_id, c.to, c.fields, p, c.message_id not in counted)
            for c, p in applied.with_previous()
        ],
        at=applied.changed_at,
    )


def _decision_reason(fields: Mapping[str, Any]) -> str:
    return str(fields.get("block_reason") or fields.get("decided_by") or "scheduled")


def _template_reason(status: str, fields: Mapping[str, Any]) -> str:
    """Why compliance blocked or deferred: the block reason code, or the kind of the first rule
    that deferred ("scheduled" when only the caller's ``send_at`` held the message back)."""
    if status == "blocked":
        return str(fields.get("block_reason") or "unknown")
    decision = fields.get("decision")
    rules = decision.get("rules", []) if isinstance(decision, dict) else []
    for rule in rules:
        if isinstance(rule, dict) and rule.get("matched") and rule.get("effect") == "defer":
            return str(rule.get("kind") or "rule")
    return "scheduled"


@dataclass(frozen=True)
class Owner:
    """What a rollup row is keyed by, read from the message when a status is reached."""

    template_id: int
    channel: str
    locale: str = ""
    provider: str = ""
    to: str = ""  # the address, for the price table's country


@dataclass
class Tally:
    """Counts gathered for one batch, written by :meth:`write` in one upsert per table."""

    daily: dict[tuple[int, str, date], Counter[str]]
    costs: dict[Any, Decimal]
    slices: dict[tuple[int, str, date, str, str], Counter[str]]
    reasons: Counter[tuple[int, str, date, str, str]]
    decisions: Counter[tuple[date, str, str]]
    book: PriceBook | None = None  # read when the first sent message is priced
    countries: dict[tuple[int, str, date, str], Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    country_costs: dict[Any, Decimal] = field(default_factory=lambda: defaultdict(Decimal))

    @classmethod
    def empty(cls) -> Tally:
        return cls(defaultdict(Counter), defaultdict(Decimal), defaultdict(Counter), Counter(), Counter())

    def status(
        self,
        owner: Owner,
        day: date,
        status: str,
        previous: str,
        fields: Mapping[str, Any],
        rendered: Any,
        price: Decimal | None = None,
        counts_acceptance: bool = True,
    ) -> None:
        """Count one message reaching ``status`` from ``previous`` on ``day`` (its acceptance
        too, unless ``counts_acceptance`` is False: the intake counted it)."""
        key = (owner.template_id, owner.channel, day)
        bumped: list[str] = []
        if previous == "accepted" and counts_acceptance:
            bumped.append("accepted")  # every accepted message leaves "accepted" once, when decided
        if status == "deferred" and previous != "deferred":
            bumped.append("deferred")
        if status in STATUS_COUNTERS:
            bumped.append(STATUS_COUNTERS[status])
            if previous == "sending" and status in SKIPPED_SENT:
                bumped.append("sent")  # a fast provider reported before we recorded "sent"
        for name in bumped:
            self.daily[key][name] += 1
            if name in SLICE_COUNTERS:
                # Decided before any hand-off: counted under no provider, live and rebuilt alike.
                provider = "" if name in PRE_HANDOFF else owner.provider
                self.slices[(*key, owner.locale, provider)][name] += 1
        if status in {"blocked", "deferred"}:
            self.decisions[(day, status, _decision_reason(fields))] += 1
            if status == "blocked" or previous != "deferred":
                self.reasons[(*key, status, _template_reason(status, fields))] += 1
        if status == "sent":
            # Priced when sent: the provider's reported price where known (``price``, a
            # rebuild), else the price table's estimate (replaced by ``rollups_record_cost``).
            segments = segments_of(rendered) if owner.channel == "sms" else 0
            self.daily[key]["segments"] += segments
            if price is None:
                self.book = self.book or price_book()
                price = self.book.cost(channel=owner.channel, to=owner.to, segments=segments)
            self.costs[key] += price
            where = (*key, country_of(owner.channel, owner.to))
            self.countries[where]["sent"] += 1
            self.countries[where]["segments"] += segments
            self.country_costs[where] += price

    def engagement(self, owner: Owner, day: date, kind: str) -> None:
        key = (owner.template_id, owner.channel, day)
        counter = ENGAGEMENT_COUNTERS[kind]
        self.daily[key][counter] += 1
        if counter in SLICE_COUNTERS:
            self.slices[(*key, owner.locale, owner.provider)][counter] += 1

    def write(self) -> None:
        _upsert_daily(self.daily, self.costs)
        _upsert_countries(self.countries, self.country_costs)
        _upsert_slices(self.slices)
        _upsert_reasons(self.reasons)
        _upsert_decisions(self.decisions)

    def write_chunked(self, size: int = 1000) -> None:
        """:meth:`write` in statements of at most ``size`` rows (a rebuild has many)."""

        def chunks(groups: Mapping[Any, Any]) -> Iterator[dict[Any, Any]]:
            keys = sorted(groups)
            for start in range(0, len(keys), size):
                yield {k: groups[k] for k in keys[start : start + size]}

        for part in chunks(self.daily):
            _upsert_daily(part, self.costs)
        for part in chunks(self.countries):
            _upsert_countries(part, self.country_costs)
        for part in chunks(self.slices):
            _upsert_slices(part)
        for part in chunks(self.reasons):
            _upsert_reasons(part)
        for part in chunks(self.decisions):
            _upsert_decisions(part)


def _owners(message_ids: Iterable[UUID]) -> dict[UUID, Owner]:
    """Each message's rollup keys, staff test sends left out (they are never counted)."""
    rows = (
        Message.objects.filter(id__in=set(message_ids))
        .exclude(notification__reference__startswith=TEST_SEND_REFERENCE_PREFIX)
        .values_list("id", "notification__template_id", "channel", "locale", "provider", "to")
    )
    return {
        mid: Owner(template_id, channel, locale, provider, to)
        for mid, template_id, channel, locale, provider, to in rows
    }


def rollups_record_transitions(*, reached: Sequence[StatusReached], at: datetime) -> None:
    """Count a batch of status changes into the day's rollups: one query to find each message's
    template, channel, locale and provider, then one upsert per rollup table.

    Callers can rely on the counts changing in the caller's transaction, so they commit or
    roll back with the status changes they count.
    """
    # A message changed twice in one batch moved from its first new status to its second, as
    # its timeline says: take that as the second change's previous status.
    latest: dict[UUID, str] = {}
    in_order: list[StatusReached] = []
    for r in reached:
        in_order.append(replace(r, previous=latest.get(r.message_id, r.previous)))
        latest[r.message_id] = r.status
    counted = [
        r
        for r in in_order
        if r.status in STATUS_COUNTERS
        or r.status == "deferred"
        or (r.previous == "accepted" and r.counts_acceptance)
    ]
    if not counted:
        return
    day = at.date()
    owners = _owners(r.message_id for r in counted)
    tally = Tally.empty()
    for r in counted:
        owner = owners.get(r.message_id)
        if owner is None:  # a staff test send: never counted, its decision neither
            continue
        tally.status(
            owner,
            day,
            r.status,
            r.previous,
            r.fields,
            r.fields.get("rendered"),
            counts_acceptance=r.counts_acceptance,
        )
    tally.write()


def accepted_pending_rows(
    messages: Iterable[tuple[int, str, str, bool]], *, day: date
) -> list[tuple[int, str, date, str, int]]:
    """The ``AcceptedPending`` rows (template, channel, day, locale, count) of messages the
    intake has just written, given as (template id, channel, locale, a staff test send?):
    staff test sends are never counted."""
    counts = Counter((t, channel, day, locale) for t, channel, locale, test in messages if not test)
    return [(*key, n) for key, n in sorted(counts.items())]


ACCEPTED_PENDING_COLUMNS = ("template_id", "channel", "day", "locale", "count")
FOLD_CHUNK = 5000


def rollups_fold_accepted(*, chunk: int = FOLD_CHUNK) -> int:
    """Add the intake's pending ``accepted`` counts (``AcceptedPending``) to the daily and the
    locale/provider rollups, and delete them, in one transaction per chunk: a fold that fails
    leaves them all for the next one (never lost), and a row is deleted by the fold that
    counts it (never counted twice; a concurrent fold skips the rows this one holds). Run by
    beat (``fold-accepted-counts``) and by every report before it reads, so a report counts
    every committed acceptance. Returns the messages counted."""
    table = AcceptedPending._meta.db_table
    folded = 0
    while True:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # Locked in the order every writer takes them (the pending rows, then the
                # rollups: the intake, the rebuild), so a fold never deadlocks with a rebuild.
                with connection.cursor() as cursor:
                    names = ", ".join(m._meta.db_table for m in (AcceptedPending, DailyRollup, SliceRollup))
                    cursor.execute(f"LOCK TABLE {names} IN ROW EXCLUSIVE MODE")
                held = "FOR UPDATE SKIP LOCKED"
            else:  # SQLite: writers take the whole database in turn
                held = ""
            with connection.cursor() as cursor:
                cursor.execute(
                    f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} ORDER BY id LIMIT %s {held}) "  # noqa: S608 - names are ours
                    f"RETURNING {', '.join(ACCEPTED_PENDING_COLUMNS)}",
                    [chunk],
                )
                rows = cursor.fetchall()
            tally = Tally.empty()
            for template_id, channel, day, locale, count in rows:
                day = day if isinstance(day, date) else date.fromisoformat(str(day))
                tally.daily[(template_id, channel, day)]["accepted"] += count
                tally.slices[(template_id, channel, day, locale, "")]["accepted"] += count
                folded += count
            tally.write()
        if len(rows) < chunk:
            return folded


def rollups_record_engagement(*, events: Iterable[tuple[UUID, str]], at: datetime) -> None:
    """Count engagement events (message id, kind: a key of ``ENGAGEMENT_COUNTERS``).

    ``hub.messaging.feedback`` calls it in the transaction that stores the engagement events,
    with ``at`` their time. Unknown kinds and unknown messages are ignored.
    """
    wanted = [(mid, kind) for mid, kind in events if kind in ENGAGEMENT_COUNTERS]
    if not wanted:
        return
    owners = _owners(mid for mid, _ in wanted)
    tally = Tally.empty()
    for mid, kind in wanted:
        if (owner := owners.get(mid)) is not None:
            tally.engagement(owner, at.date(), kind)
    tally.write()


def rollups_record_cost(*, message_id: UUID, delta: Decimal, day: date) -> None:
    """Add ``delta`` to the cost of the message's (template, channel, day): a provider's
    reported price replacing the price table's estimate counted when the message was sent."""
    owner = _owners([message_id]).get(message_id)
    if owner is None or not delta:
        return
    key = (owner.template_id, owner.channel, day)
    _upsert_daily({key: Counter()}, {key: delta})
    where = (*key, country_of(owner.channel, owner.to))
    _upsert_countries({where: Counter()}, {where: delta})


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
    reason, the breakdowns by locale and provider). Running it twice gives the same rows.

    The rollup tables are locked (``SHARE ROW EXCLUSIVE``) for the whole run, so no count is
    lost or doubled: a status change or engagement report that would add to them waits
    until the rebuild commits, then adds to the rebuilt rows. ``progress(done, total)`` is
    called after each chunk of messages. Staff test sends are left out; a message's cost is
    the provider's reported price where one was fetched, else the price table's.
    """
    report = RebuildReport()
    tally = Tally.empty()
    # The intake's pending acceptances are counted from the timelines here: locked (an accept
    # waits for the rebuild, as a count into the rollups does) and deleted with the old rows.
    # Locked first, as the intake and the fold take them before the rollups (no deadlock).
    tables = (AcceptedPending, DailyRollup, DecisionRollup, SliceRollup, ReasonRollup, CountryRollup)
    with transaction.atomic():
        # SQLite (the embedded default) has no LOCK TABLE: its writers take the whole database
        # in turn, so the rebuild's first write holds off the others there.
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                names = ", ".join(model._meta.db_table for model in tables)
                cursor.execute(f"LOCK TABLE {names} IN SHARE ROW EXCLUSIVE MODE")
        total = Message.objects.count()
        messages = (
            Message.objects.exclude(notification__reference__startswith=TEST_SEND_REFERENCE_PREFIX)
            .order_by("id")
            .values_list("id", "channel", "notification__template_id", "rendered", "locale", "provider", "to")
        )
        last: Any = None
        while True:
            page = list((messages.filter(id__gt=last) if last is not None else messages)[:chunk_size])
            if not page:
                break
            last = page[-1][0]
            owners = {
                mid: (Owner(template_id, channel, locale, provider, to), rendered)
                for mid, channel, template_id, rendered, locale, provider, to in page
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
                owner, rendered = owners[mid]
                if kind == EventKind.ENGAGEMENT:
                    if status in ENGAGEMENT_COUNTERS:
                        tally.engagement(owner, occurred_at.date(), status)
                    continue
                before, previous[mid] = previous.get(mid, "accepted"), status
                if status == "accepted":
                    continue
                price = reported.get(mid) if status == "sent" else None
                tally.status(owner, occurred_at.date(), status, before, detail or {}, rendered, price)
            report.messages += len(page)
            if progress is not None:
                progress(report.messages, total)
        for model in tables:
            model.objects.all().delete()
        tally.write_chunked()
    report.daily_rows, report.decision_rows = len(tally.daily), len(tally.decisions)
    return report
