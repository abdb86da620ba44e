"""A home for each role (issue 20 point 3): what a marketer, a compliance officer, a support
agent and an operator open every morning, behind ``/admin/`` (``hub.workspace.admin.homes``).

Every figure is a rollup or an indexed read with a bound, never a count over the messages or
the audit records, so a home costs the same few queries at ten million messages as at ten:

- marketer: the user's drafts (lint run on each, at most ``DRAFTS``), their versions in review,
  live templates with the last 7 days from ``DailyRollup``, broadcasts and journeys running
  (each broadcast's progress is fetched by the page from the broadcast's own progress view);
- compliance: the approval queues (templates and journeys, count and oldest), today's blocked and
  deferred messages by reason from ``ReasonRollup``, today's opt-outs (consent withdrawals, from
  their partial index, counted up to ``OPT_OUTS_LOOKED_AT``), the audit log's state;
- support: the contact search (``contacts_matching`` behind the contact timelines' search box),
  recent inbound messages by primary key, the contacts this user opened lately;
- operator: the sandbox channels, broker queue depths, providers' outcomes over the last hour
  (the status index), workers' heartbeats, failing callback endpoints, today's sends.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection
from django.db.models import Min, Prefetch, Subquery, Sum
from django.utils import timezone

from audit.selectors import LogState, audit_log_state
from hub.broadcasts.models import Broadcast, BroadcastStatus
from hub.callbacks.models import CallbackEndpoint
from hub.contacts.models import ConsentEntry, ConsentSource, InboundMessage
from hub.journeys.models import Journey, JourneyVersion
from hub.messaging.models import BlockReason, DailyRollup
from hub.roles import ROLE_PERMISSIONS
from hub.workspace.models import RecentContact
from hub.workspace.operator import (
    ProviderHealth,
    WorkerState,
    provider_health,
    sandbox_channels,
    worker_states,
)
from hub.workspace.reports import Reason, report_reasons
from templates_app.lint import Finding
from templates_app.models import Template, TemplateVariable, TemplateVariant, TemplateVersion, VersionStatus
from templates_app.services.workflow import version_lint_run

# The homes, in the order their tabs show; each is the home of the role (group) of that name.
HOMES: dict[str, str] = {
    "marketer": "Marketer",
    "compliance": "Compliance",
    "support": "Support",
    "operator": "Operator",
}
# A superuser holds every role: the operator's home first, the others a tab away.
SUPERUSER_FIRST = "operator"

DRAFTS = 5  # drafts linted on the marketer's home (the newest; the rest are a link away)
IN_REVIEW = 10
LIVE_TEMPLATES = 20
RUNNING = 10
QUEUE_SHOWN = 10
OPT_OUTS_LOOKED_AT = 10_000
INBOUND = 10
RECENT_CONTACTS = 10
FAILING_ENDPOINTS = 5
FIGURE_DAYS = 7
FIGURES = ("sent", "delivered", "opened", "clicked")
VARIABLE_FINDINGS = frozenset({"reserved_variable", "undeclared_variable", "unused_variable", "bad_example"})
RUNNING_BROADCASTS = (BroadcastStatus.RUNNING, BroadcastStatus.SCHEDULED, BroadcastStatus.PAUSED)


def homes_of(user: AbstractBaseUser | AnonymousUser) -> list[str]:
    """The homes ``user`` may open, in tab order (the first is where ``/admin/`` lands)."""
    if not getattr(user, "is_active", False) or not getattr(user, "is_staff", False):
        return []
    if getattr(user, "is_superuser", False):
        return [SUPERUSER_FIRST, *(home for home in HOMES if home != SUPERUSER_FIRST)]
    groups = set(user.groups.filter(name__in=ROLE_PERMISSIONS).values_list("name", flat=True))  # type: ignore[union-attr]
    return [home for home, role in HOMES.items() if role in groups]


def _today() -> date:
    return timezone.now().astimezone(UTC).date()  # the rollups' days are UTC days


# --- Marketer -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DraftFinding:
    finding: Finding
    anchor: str  # where on the editor the finding's field is ("" for the page itself)


@dataclass(frozen=True)
class Draft:
    version: TemplateVersion
    findings: list[DraftFinding]

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.finding.severity == "error")


@dataclass(frozen=True)
class LiveFigures:
    template: Template
    counts: dict[str, int]


@dataclass(frozen=True)
class MarketerHome:
    drafts: list[Draft]
    more_drafts: bool
    in_review: list[TemplateVersion | JourneyVersion]
    live: list[LiveFigures]
    since: date
    broadcasts: list[Broadcast]
    journeys: list[Journey]


def _anchor(finding: Finding, variants: list[TemplateVariant]) -> str:
    """The editor's inline form a finding is about: the variant of its channel and locale, or
    the variables; "" when it concerns the version as a whole."""
    if finding.channel:
        for index, variant in enumerate(variants):
            if (variant.channel, variant.locale) == (finding.channel, finding.locale):
                return f"variants-{index}"
        return "variants-group"
    if finding.code in VARIABLE_FINDINGS:
        return "variables-group"
    return ""


def draft_findings(version: TemplateVersion) -> list[DraftFinding]:
    """The lint's findings on a saved draft, each with the editor field it points at."""
    variants = list(version.variants.all())
    return [DraftFinding(f, _anchor(f, variants)) for f in version_lint_run(version)]


def marketer_home(*, user_id: int) -> MarketerHome:
    """The marketer's morning: what they are writing and what it still lacks, what waits for
    compliance, how the live templates did over the last 7 days, what is sending now."""
    drafts = list(
        TemplateVersion.objects.filter(author_id=user_id, status=VersionStatus.DRAFT)
        .select_related("template", "layout")
        .prefetch_related(
            Prefetch("variants", queryset=TemplateVariant.objects.order_by("channel", "locale")),
            Prefetch("variables", queryset=TemplateVariable.objects.order_by("name")),
        )
        .order_by("-created_at", "-id")[: DRAFTS + 1]
    )
    in_review: list[TemplateVersion | JourneyVersion] = [
        *TemplateVersion.objects.filter(author_id=user_id, status=VersionStatus.IN_REVIEW)
        .select_related("template")
        .order_by("submitted_at", "id")[:IN_REVIEW],
        *JourneyVersion.objects.filter(author_id=user_id, status=VersionStatus.IN_REVIEW)
        .select_related("journey")
        .order_by("submitted_at", "id")[:IN_REVIEW],
    ]
    since = _today() - timedelta(days=FIGURE_DAYS - 1)
    sums = {
        template_id: dict(zip(FIGURES, (int(n or 0) for n in counts), strict=True))
        for template_id, *counts in DailyRollup.objects.filter(
            day__gte=since, template__live_version__isnull=False
        )
        .values("template_id")
        .annotate(**{name: Sum(name) for name in FIGURES})
        .values_list("template_id", *FIGURES)
        .order_by()
    }
    templates = Template.objects.filter(live_version__isnull=False).select_related("live_version")
    live = sorted(
        (LiveFigures(t, sums.get(t.pk, dict.fromkeys(FIGURES, 0))) for t in templates.order_by("key")),
        key=lambda f: (-f.counts["sent"], f.template.key),
    )[:LIVE_TEMPLATES]
    broadcasts = list(
        Broadcast.objects.filter(status__in=RUNNING_BROADCASTS)
        .select_related("template")
        .order_by("-created_at")[:RUNNING]
    )
    journeys = list(
        Journey.objects.filter(live_version__isnull=False)
        .select_related("live_version")
        .order_by("key")[:RUNNING]
    )
    return MarketerHome(
        drafts=[Draft(v, draft_findings(v)) for v in drafts[:DRAFTS]],
        more_drafts=len(drafts) > DRAFTS,
        in_review=in_review,
        live=live,
        since=since,
        broadcasts=broadcasts,
        journeys=journeys,
    )


# --- Compliance ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Queue:
    """One approval queue: how many wait, since when the oldest, and the oldest few."""

    count: int
    oldest: datetime | None
    entries: list[Any]


@dataclass(frozen=True)
class ComplianceHome:
    templates: Queue
    journeys: Queue
    reasons: list[Reason]
    opt_outs: dict[str, int]  # by source, in words
    opt_outs_more: bool  # more than OPT_OUTS_LOOKED_AT today
    log: LogState
    day: date = field(default_factory=_today)

    @property
    def block_codes(self) -> frozenset[str]:
        """Block reasons the compliance workspace can search messages by."""
        return frozenset(str(code) for code in BlockReason.values)

    @property
    def waiting(self) -> int:
        return self.templates.count + self.journeys.count

    @property
    def blocked(self) -> int:
        return sum(r.count for r in self.reasons if r.outcome == "blocked")

    @property
    def deferred(self) -> int:
        return sum(r.count for r in self.reasons if r.outcome == "deferred")

    @property
    def opt_outs_total(self) -> int:
        return sum(self.opt_outs.values())


def _queue(model: type[TemplateVersion] | type[JourneyVersion], related: str) -> Queue:
    waiting = model.objects.filter(status=VersionStatus.IN_REVIEW)
    summary = waiting.aggregate(oldest=Min("submitted_at"))
    entries = list(waiting.select_related(related).order_by("submitted_at", "id")[:QUEUE_SHOWN])
    # Versions in review are few (each is a person's submission): counting them is cheap.
    return Queue(waiting.count(), summary["oldest"], entries)


def opt_outs_today() -> tuple[dict[str, int], bool]:
    """Today's consent withdrawals by source (in words), from the withdrawals' time index; at
    most ``OPT_OUTS_LOOKED_AT`` are looked at (the second value says there were more)."""
    start = datetime.combine(_today(), time.min, tzinfo=UTC)
    table = ConsentEntry._meta.db_table
    sql = (
        f"SELECT source, COUNT(*) FROM (SELECT source FROM {table} "  # noqa: S608 - our table name
        "WHERE NOT granted AND created_at >= %s LIMIT %s) AS today GROUP BY source ORDER BY 2 DESC, 1"
    )  # "NOT granted", as the partial index says it, so that the planner reads that index
    with connection.cursor() as cursor:
        cursor.execute(sql, [start, OPT_OUTS_LOOKED_AT + 1])
        rows = cursor.fetchall()
    labels = dict(ConsentSource.choices)
    found = {str(labels.get(source, source)): int(n) for source, n in rows}
    return found, sum(found.values()) > OPT_OUTS_LOOKED_AT


def compliance_home() -> ComplianceHome:
    """The compliance officer's morning: what waits for review, what compliance stopped today
    and why, who opted out today, and whether the audit log is keeping up and verified."""
    today = _today()
    reasons = report_reasons(date_from=today, date_to=today, template="", channel="")
    opt_outs, more = opt_outs_today()
    return ComplianceHome(
        templates=_queue(TemplateVersion, "template"),
        journeys=_queue(JourneyVersion, "journey"),
        reasons=reasons,
        opt_outs=opt_outs,
        opt_outs_more=more,
        log=audit_log_state(),
        day=today,
    )


# --- Support ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SupportHome:
    inbound: list[InboundMessage]
    recent: list[RecentContact]


def support_home(*, user_id: int) -> SupportHome:
    """The support agent's morning: the search box (in the template), the latest messages people
    sent us, and the contacts this agent opened lately."""
    inbound = list(InboundMessage.objects.select_related("contact").order_by("-id")[:INBOUND])
    recent = list(
        RecentContact.objects.filter(user_id=user_id)
        .select_related("contact")
        .order_by("-viewed_at")[:RECENT_CONTACTS]
    )
    return SupportHome(inbound=inbound, recent=recent)


def contact_viewed(*, user_id: int, contact_id: int) -> None:
    """Remember that this staff member opened this contact (support's "recently viewed"),
    keeping only their latest ``RECENT_CONTACTS``."""
    RecentContact.objects.bulk_create(
        [RecentContact(user_id=user_id, contact_id=contact_id, viewed_at=timezone.now())],
        update_conflicts=True,
        unique_fields=["user", "contact"],
        update_fields=["viewed_at"],
    )  # one upsert: the first view and every later one cost the same
    mine = RecentContact.objects.filter(user_id=user_id)
    newest = mine.order_by("-viewed_at").values("pk")[:RECENT_CONTACTS]
    mine.exclude(pk__in=Subquery(newest)).delete()


# --- Operator -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OperatorHome:
    sandbox: list[str]
    queue_depths: dict[str, int | None]
    providers: list[ProviderHealth]
    workers: list[WorkerState]
    failing: list[CallbackEndpoint]
    sent_today: int

    @property
    def broker_up(self) -> bool:
        return bool(self.queue_depths)

    @property
    def stale_workers(self) -> int:
        return sum(1 for w in self.workers if w.stale)


def operator_home(*, queue_depths: dict[str, int | None]) -> OperatorHome:
    """The operator's morning, the operator dashboard's headline figures (the dashboard itself,
    with queued lanes, latency and every failing endpoint, is a link away). ``queue_depths``
    comes from the broker (``hub.workspace.metrics.queue_depths``), passed in by the view."""
    failing = list(
        CallbackEndpoint.objects.filter(consecutive_failures__gt=0)
        .select_related("api_key")
        .order_by("-consecutive_failures", "pk")[:FAILING_ENDPOINTS]
    )
    sent = DailyRollup.objects.filter(day=_today()).aggregate(n=Sum("sent"))["n"] or 0
    return OperatorHome(
        sandbox=sandbox_channels(),
        queue_depths=queue_depths,
        providers=provider_health(timedelta(hours=1)),
        workers=worker_states(),
        failing=failing,
        sent_today=int(sent),
    )


def home_titles(homes: Iterable[str]) -> list[tuple[str, str]]:
    """(home, its tab's title) for the tabs."""
    return [(home, f"{HOMES[home]} home") for home in homes]
