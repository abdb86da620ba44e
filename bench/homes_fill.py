"""The role homes' bench data (PostgreSQL only): ten million messages written with
``INSERT … SELECT … FROM generate_series`` in the database itself, not through Python.

Every row is a function of its serial number ``n`` (``hashint8`` draws the template, the
contact and the outcome), so the notifications, the messages, their rollups and the recent
messages' events are written by separate statements that agree with each other, and a fill
stopped half way resumes where it stopped. The messages are spread evenly over the past year
up to now, so today holds its share of sent, blocked and deferred messages (a message of the
last day that would have been cancelled is deferred instead, by the quiet-hours rule, as the
lifecycle leaves it). The rollups (``DailyRollup``, ``ReasonRollup``, ``DecisionRollup``) are
what the lifecycle's fold would have written for these messages (``hub.messaging.rollups``),
recomputed in one statement each after the messages. Beside them: the million contacts of
P5c (``bench.contact_search``), inbound messages, consents granted and withdrawn over the year
(today's opt-outs among them), and an audit trail (``bench.bulkfill.audit_fill_fast``).

Not filled: rendered content (``rendered`` is ``{}``), events older than ``EVENT_DAYS`` days,
the slice and country rollups (no home reads them).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from audit.models import AuditRecord
from audit.sequencer import audit_sequence
from bench.audience import live_template
from bench.bulkfill import audit_fill_fast
from bench.contact_search import PREFIX, contacts_fill
from hub.contacts.models import ConsentEntry, Contact, InboundMessage
from hub.dbroles.owner import owner_connection
from hub.messaging.models import (
    DailyRollup,
    DecisionRollup,
    Message,
    MessageEvent,
    Notification,
    ReasonRollup,
)
from templates_app.models import Category, Template

REFERENCE = "bench:homes"
YEAR = timedelta(days=365)
EVENT_DAYS = 2  # the operator's hand-off latency reads the last hour's events
BATCH = 500_000  # messages per transaction
INBOUND_PER_MESSAGES = 100  # one inbound message for every hundred sent
CONSENTS_PER_MESSAGES = 50  # one consent entry (half of them withdrawals) for every fifty
# n → the serial's place in the outcome mix: abs(hashint8(n)) % 100 falls in one of these.
# status, block reason, decided by (as OUTCOMES in bench.bulkfill, the same mix as P5).
OUTCOMES = (
    (55, "delivered", "", ""),
    (75, "sent", "", ""),
    (83, "blocked", "no_consent", "marketing_consent v1"),
    (87, "blocked", "opted_out", "opt_out v1"),
    (89, "blocked", "suppressed", "suppression v1"),
    (93, "failed", "", ""),
    (98, "undelivered", "", ""),
    (100, "cancelled", "", ""),  # within the last day: deferred (quiet hours) instead
)
DEFER_DECISION = (
    '{"outcome": "defer", "rules": [{"kind": "quiet_hours", "matched": true, "effect": "defer"}]}'
)
# The live templates the messages are drawn from: key, channel, category.
TEMPLATES = (
    ("bench.homes.otp", "sms", Category.TRANSACTIONAL),
    ("bench.homes.shipped", "sms", Category.TRANSACTIONAL),
    ("bench.homes.spring-sale", "sms", Category.MARKETING),
    ("bench.homes.reminder", "sms", Category.TRANSACTIONAL),
    ("bench.homes.receipt", "email", Category.TRANSACTIONAL),
    ("bench.homes.digest", "email", Category.TRANSACTIONAL),
    ("bench.homes.welcome", "email", Category.TRANSACTIONAL),
    ("bench.homes.password", "email", Category.TRANSACTIONAL),
)
_CONTENT = {
    "sms": {"text": "Hi {{ first_name }}, your code is {{ code }}. Reply STOP to opt out."},
    "email": {
        "subject": "Hello {{ first_name }}",
        "html": "<p>Hi {{ first_name }}, your code is <b>{{ code }}</b>.</p>",
        "text": "Hi {{ first_name }}, your code is {{ code }}.",
    },
}


@dataclass(frozen=True)
class Span:
    """Where the fill's ``n`` live: ``messages`` serials, message ``n`` at ``start_ms + n *
    spacing_ms``, to contact ``contact_min + (hash % contacts)``."""

    messages: int
    start_ms: int
    spacing_ms: float
    contact_min: int
    contacts: int


@dataclass(frozen=True)
class HomesFill:
    messages: int
    contacts: int
    audit_records: int
    added_messages: int
    seconds: float
    by_table: dict[str, int]


def homes_templates() -> list[Template]:
    """The fill's live templates (made once, through the review workflow)."""
    return [
        live_template(
            key=key,
            name=key.rsplit(".", 1)[-1].replace("-", " ").title(),
            category=category,
            variant={"channel": channel, **_CONTENT[channel]},
            examples={"first_name": "Ada", "code": "123456"},
        )
        for key, channel, category in TEMPLATES
    ]


def _templates_sql(templates: list[Template]) -> str:
    """The templates as a VALUES list joined by ``ti`` (our own ids and words: no user input)."""
    rows = ", ".join(
        f"({i}, {t.pk}, {t.live_version_id}, '{channel}', '{t.category}')"
        for i, (t, (_, channel, _)) in enumerate(zip(templates, TEMPLATES, strict=True))
    )
    return f"(VALUES {rows}) AS t(ti, template_id, version_id, channel, category)"


def _plan_sql(span: Span, templates: list[Template], lo: int, hi: int) -> str:
    """One row per serial in ``[lo, hi)``: its time, template, contact and outcome, as every
    statement of the fill reads them (all numbers are ours: formatted in, not user input)."""
    cases = " ".join(f"WHEN b < {upper} THEN '{status}'" for upper, status, _, _ in OUTCOMES[:-1])
    reasons = " ".join(f"WHEN b < {upper} THEN '{reason}'" for upper, _, reason, _ in OUTCOMES[:-1])
    rules = " ".join(f"WHEN b < {upper} THEN '{rule}'" for upper, _, _, rule in OUTCOMES[:-1])
    day_ago_ms = span.start_ms + int(span.messages * span.spacing_ms) - 86_400_000
    return f"""
        SELECT g.*, t.template_id, t.version_id, t.channel, t.category,
               CASE {cases} WHEN ms >= {day_ago_ms} THEN 'deferred' ELSE 'cancelled' END AS status,
               CASE {reasons} ELSE '' END AS block_reason,
               CASE {rules} WHEN ms >= {day_ago_ms} THEN 'quiet_hours v1' ELSE '' END AS decided_by
        FROM (
            SELECT n, ms, to_timestamp(ms / 1000.0) AS at,
                   abs(hashint8(n)) % 100 AS b,
                   abs(hashint8(n + 1000000000000)) % {len(templates)} AS ti,
                   abs(hashint8(n + 2000000000000)) % 100 AS e,
                   {span.contact_min} + abs(hashint8(n + 3000000000000)) % {span.contacts} AS contact_id,
                   abs(hashint8(n + 3000000000000)) % {span.contacts} AS contact_n
            FROM (SELECT n, ({span.start_ms} + n * {span.spacing_ms})::bigint AS ms
                  FROM generate_series({lo}::bigint, {hi - 1}::bigint) AS n) AS s
        ) AS g JOIN {_templates_sql(templates)} USING (ti)
    """  # noqa: S608 - our own numbers and words


def _uuid(prefix: str) -> str:
    """A UUIDv7 for the serial's time whose random bits are the serial (``prefix`` 8: its
    notification, 9: its message)."""
    return f"(lpad(to_hex(ms), 12, '0') || '7000' || '{prefix}' || lpad(to_hex(n), 15, '0'))::uuid"


def _messages_insert(span: Span, templates: list[Template], lo: int, hi: int) -> None:
    plan = _plan_sql(span, templates, lo, hi)
    handed = "status NOT IN ('blocked', 'cancelled', 'deferred')"
    address = f"CASE WHEN channel = 'sms' THEN '+4479' || lpad(contact_n::text, 8, '0') ELSE '{PREFIX}' || contact_n || '@example.com' END"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {Notification._meta.db_table}
                (id, template_id, template_version_id, contact_id, "to", data, channels, routing,
                 locale, reference, created_at)
            SELECT {_uuid("8")}, template_id, version_id, contact_id, '{{}}', '{{}}',
                   jsonb_build_array(channel), 'first', 'en', '{REFERENCE}', at
            FROM ({plan}) AS p"""  # noqa: S608 - our own numbers and words
        )
        cursor.execute(
            f"""INSERT INTO {Message._meta.db_table}
                (id, notification_id, channel, category, "to", locale, status, block_reason, attempts,
                 provider, provider_message_id, error_code, error_message, needs_reconciliation,
                 rendered, decision, decided_by, created_at, status_changed_at)
            SELECT {_uuid("9")}, {_uuid("8")}, channel, category, {address}, 'en', status, block_reason,
                   CASE WHEN {handed} THEN 1 ELSE 0 END,
                   CASE WHEN {handed} THEN CASE channel WHEN 'sms' THEN 'twilio' ELSE 'sendgrid' END
                        ELSE '' END,
                   CASE WHEN {handed} THEN 'SM' || lpad(to_hex(n), 30, '0') ELSE '' END,
                   CASE WHEN status IN ('failed', 'undelivered') THEN '30003' ELSE '' END, '', false,
                   '{{}}',
                   CASE WHEN status = 'deferred' THEN '{DEFER_DECISION}'::jsonb
                        WHEN block_reason <> '' THEN jsonb_build_object('outcome', 'block', 'rule', decided_by)
                        ELSE '{{}}'::jsonb END,
                   decided_by, at,
                   at + CASE WHEN status IN ('delivered', 'undelivered') THEN interval '6 seconds'
                             WHEN {handed} THEN interval '1 second' ELSE interval '0' END
            FROM ({plan}) AS p"""  # noqa: S608 - our own numbers and words
        )


def _events_insert(span: Span, templates: list[Template], lo: int, hi: int) -> None:
    """The claim (sending) and the hand-off (sent) of the messages handed to a provider."""
    plan = _plan_sql(span, templates, lo, hi)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {MessageEvent._meta.db_table} (message_id, kind, status, detail, source, occurred_at)
            SELECT {_uuid("9")}, 'status', s.status, '{{}}', 'dispatch',
                   at + s.after * interval '1 millisecond'
            FROM ({plan}) AS p CROSS JOIN (VALUES ('sending', 0), ('sent', 400)) AS s(status, after)
            WHERE p.status NOT IN ('blocked', 'cancelled', 'deferred')"""  # noqa: S608
        )


def _rollups_write(span: Span, templates: list[Template]) -> None:
    """The rollups the fold would have written for every message of the fill (recomputed: the
    fill is their only writer, ``ON CONFLICT`` replaces a previous run's rows)."""
    plan = _plan_sql(span, templates, 0, span.messages)
    day = "(at AT TIME ZONE 'UTC')::date"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {DailyRollup._meta.db_table}
                (template_id, channel, day, accepted, sent, delivered, failed, bounced, blocked, deferred,
                 opened, clicked, unsubscribed, complained, segments, cost, machine_opens, machine_clicks,
                 converted)
            SELECT template_id, channel, {day}, count(*),
                   count(*) FILTER (WHERE status IN ('sent', 'delivered', 'undelivered')),
                   count(*) FILTER (WHERE status = 'delivered'),
                   count(*) FILTER (WHERE status IN ('failed', 'undelivered')),
                   0,
                   count(*) FILTER (WHERE status = 'blocked'),
                   count(*) FILTER (WHERE status = 'deferred'),
                   count(*) FILTER (WHERE status = 'delivered' AND channel = 'email' AND e < 30),
                   count(*) FILTER (WHERE status = 'delivered' AND channel = 'email' AND e < 6),
                   count(*) FILTER (WHERE status = 'delivered' AND channel = 'email' AND e = 99),
                   0,
                   count(*) FILTER (WHERE status IN ('sent', 'delivered', 'undelivered') AND channel = 'sms'),
                   0.0079 * count(*) FILTER (WHERE status IN ('sent', 'delivered', 'undelivered')
                                              AND channel = 'sms'),
                   0, 0, 0
            FROM ({plan}) AS p GROUP BY 1, 2, 3
            ON CONFLICT (template_id, channel, day) DO UPDATE SET
                accepted = EXCLUDED.accepted, sent = EXCLUDED.sent, delivered = EXCLUDED.delivered,
                failed = EXCLUDED.failed, blocked = EXCLUDED.blocked, deferred = EXCLUDED.deferred,
                opened = EXCLUDED.opened, clicked = EXCLUDED.clicked,
                unsubscribed = EXCLUDED.unsubscribed, segments = EXCLUDED.segments, cost = EXCLUDED.cost"""  # noqa: S608
        )
        cursor.execute(
            f"""INSERT INTO {ReasonRollup._meta.db_table} (template_id, channel, day, outcome, reason, count)
            SELECT template_id, channel, {day}, status,
                   CASE WHEN status = 'blocked' THEN block_reason ELSE 'quiet_hours' END, count(*)
            FROM ({plan}) AS p WHERE status IN ('blocked', 'deferred') GROUP BY 1, 2, 3, 4, 5
            ON CONFLICT (template_id, channel, day, outcome, reason) DO UPDATE SET count = EXCLUDED.count"""  # noqa: S608
        )
        cursor.execute(
            f"""INSERT INTO {DecisionRollup._meta.db_table} (day, outcome, reason, count)
            SELECT {day}, status, CASE WHEN block_reason <> '' THEN block_reason ELSE decided_by END, count(*)
            FROM ({plan}) AS p WHERE status IN ('blocked', 'deferred') GROUP BY 1, 2, 3
            ON CONFLICT (day, outcome, reason) DO UPDATE SET count = EXCLUDED.count"""  # noqa: S608
        )


def _inbound_and_consents(span: Span, count_inbound: int, count_consents: int) -> None:
    """Inbound messages (one in ten a STOP) and consent entries (every other one a withdrawal)
    over the same year; the latest fall today."""
    sources = ("api", "sms_keyword", "one_click", "preference_page", "complaint", "admin")
    source_array = "ARRAY[" + ", ".join(f"'{s}'" for s in sources) + "]"
    end_ms = span.start_ms + int(span.messages * span.spacing_ms)
    with connection.cursor() as cursor:
        have = InboundMessage.objects.filter(provider_message_id__startswith="bench-homes-").count()
        if have < count_inbound:
            step = (end_ms - span.start_ms) / count_inbound
            cursor.execute(
                f"""INSERT INTO {InboundMessage._meta.db_table}
                    (channel, from_address, body, keyword, provider, provider_message_id, received_at,
                     contact_id, simulated, subject)
                SELECT 'sms', '+4479' || lpad(c::text, 8, '0'),
                       CASE WHEN n % 10 = 0 THEN 'STOP' ELSE 'Is my order on its way?' END,
                       CASE WHEN n % 10 = 0 THEN 'STOP' ELSE '' END, 'twilio', 'bench-homes-' || n,
                       to_timestamp(({span.start_ms} + n * {step}) / 1000.0), {span.contact_min} + c, false, ''
                FROM (SELECT n, abs(hashint8(n + 4000000000000)) % {span.contacts} AS c
                      FROM generate_series({have}, {count_inbound - 1}) AS n) AS s"""  # noqa: S608
            )
        have = ConsentEntry.objects.filter(evidence__bench="homes").count()
        if have < count_consents:
            step = (end_ms - span.start_ms) / count_consents
            cursor.execute(
                f"""INSERT INTO {ConsentEntry._meta.db_table}
                    (contact_id, channel, purpose, granted, source, evidence, created_at)
                SELECT {span.contact_min} + abs(hashint8(n + 5000000000000)) % {span.contacts},
                       CASE WHEN n % 3 = 0 THEN 'email' ELSE 'sms' END, 'marketing', n % 2 = 0,
                       ({source_array})[1 + abs(hashint8(n + 6000000000000)) % {len(sources)}],
                       '{{"bench": "homes"}}', to_timestamp(({span.start_ms} + n * {step}) / 1000.0)
                FROM generate_series({have}, {count_consents - 1}) AS n"""  # noqa: S608
            )


def _span(messages: int, contacts: int) -> Span:
    """Where the fill's serials fall: over the year up to the first run's time, kept in the
    first notification of the fill, so a run that resumes a stopped fill (or another process
    filling another range) places every serial where the first run would have."""
    first = (
        Notification.objects.filter(reference=REFERENCE)
        .order_by("id")
        .values_list("created_at", flat=True)
        .first()
    )
    year_ms = int(YEAR.total_seconds() * 1000)
    start_ms = int(first.timestamp() * 1000) if first else int(timezone.now().timestamp() * 1000) - year_ms
    bench_contacts = Contact.objects.filter(external_id__startswith=PREFIX)
    contact_min = bench_contacts.order_by("pk").values_list("pk", flat=True).first() or 0
    return Span(messages, start_ms, year_ms / messages, contact_min, contacts)


def messages_fill(span: Span, templates: list[Template], lo: int, hi: int, log: Any = print) -> None:
    """Serials ``[lo, hi)`` in transactions of ``BATCH``, with the events of those in the last
    ``EVENT_DAYS`` days."""
    started = time.perf_counter()
    for first in range(lo, hi, BATCH):
        last = min(first + BATCH, hi)
        with transaction.atomic():
            _messages_insert(span, templates, first, last)
            recent = max(first, span.messages - int(EVENT_DAYS * 86_400_000 / span.spacing_ms))
            if recent < last:
                _events_insert(span, templates, recent, last)
        log(f"homes: {last:,} messages ({time.perf_counter() - started:,.0f} s)")


def homes_fill(
    *,
    messages: int = 10_000_000,
    contacts: int = 1_000_000,
    audit_records: int = 1_000_000,
    log: Any = print,
) -> HomesFill:
    """Fill what is missing (a second run finds it there and returns at once)."""
    started = time.perf_counter()
    templates = homes_templates()
    total_contacts, _ = contacts_fill(contacts)
    have = Notification.objects.filter(reference=REFERENCE).count()
    added = max(messages - have, 0)
    span = _span(messages, contacts)
    if added:
        log(f"homes: filling {added:,} messages ({have:,} there) ...")
        messages_fill(span, templates, have, messages, log)
    analyse = bool(added)
    if added or not DailyRollup.objects.filter(template__in=templates).exists():
        with transaction.atomic():
            _rollups_write(span, templates)
            _inbound_and_consents(span, messages // INBOUND_PER_MESSAGES, messages // CONSENTS_PER_MESSAGES)
        log(f"homes: rollups, inbound, consents ({time.perf_counter() - started:,.0f} s)")
        analyse = True  # (the messages may have been filled by another process)
    have_audit = AuditRecord.objects.count()
    if have_audit < audit_records:
        audit_fill_fast(records=audit_records, sequenced=True)
        log(f"homes: {audit_records:,} audit records ({time.perf_counter() - started:,.0f} s)")
    # A sequencer round, as production runs every few seconds: the records written outside the
    # fill (the templates' reviews) join the log, and its horizon moves past the fill's
    # transactions (left at 0, the compliance home's "waiting" read walked every record).
    audit_sequence()
    # Fresh statistics, or the planner takes ten million rows for a few. Not from inside a
    # transaction (a test's): the owner's connection would not see the rows, and would record
    # the tables as empty for every later query.
    if analyse and not connection.in_atomic_block:
        tables = (
            Notification,
            Message,
            MessageEvent,
            DailyRollup,
            ReasonRollup,
            ConsentEntry,
            InboundMessage,
        )
        with owner_connection() as owner, owner.cursor() as cursor:
            for model in tables:
                cursor.execute(f"ANALYZE {model._meta.db_table}")
    return HomesFill(
        messages=messages,
        contacts=total_contacts,
        audit_records=max(have_audit, audit_records),
        added_messages=added,
        seconds=time.perf_counter() - started,
        by_table=table_sizes(),
    )


def table_sizes() -> dict[str, int]:
    """Rows per big table, from the planner's statistics (counting ten million would be slow)."""
    tables = {
        "messages": Message,
        "notifications": Notification,
        "events": MessageEvent,
        "contacts": Contact,
        "audit records": AuditRecord,
        "consent entries": ConsentEntry,
        "inbound": InboundMessage,
        "daily rollups": DailyRollup,
    }
    sizes = {}
    with connection.cursor() as cursor:
        for label, model in tables.items():
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [model._meta.db_table]
            )
            row = cursor.fetchone()
            sizes[label] = max(int(row[0]) if row else 0, 0)
    return sizes
