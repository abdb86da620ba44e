"""Journey reports (issue 17 point 8): per journey version, how many runs entered, are still
active, completed, exited (by which event), were cancelled or failed, and converted (goal within
the window); per step, how many runs reached it and what its messages did (sent, delivered,
opened, clicked, blocked, deferred).

Read from the runs, their timelines and the messages they link (``JourneyRunMessage``): a few
grouped queries per version, none per run. At millions of runs per version a rollup written by
the engine would replace them (see the report of helper reports18).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count

from hub.journeys.models import JourneyRun, JourneyRunEntry, JourneyRunMessage, JourneyVersion
from hub.messaging.models import MessageEvent

STEP_FIGURES = ("sent", "delivered", "opened", "clicked", "blocked", "deferred")
ACTIVE = ("active", "waiting")


@dataclass
class StepFigures:
    step: str
    kind: str
    reached: int = 0
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class JourneyReport:
    version: JourneyVersion
    entered: int
    active: int
    completed: int
    exited: int
    cancelled: int
    failed: int
    converted: int
    exits: list[tuple[str, int]]
    steps: list[StepFigures]

    @property
    def funnel(self) -> list[tuple[str, int]]:
        """Entered, each step reached, converted: what the admin's funnel chart draws."""
        return [
            ("Entered", self.entered),
            *((f"Step {s.step} ({s.kind})", s.reached) for s in self.steps),
            ("Converted", self.converted),
        ]


def _message_figures(version: JourneyVersion) -> dict[str, dict[str, int]]:
    """Per step: distinct messages that reached each status or engagement."""
    runs = JourneyRun._meta.db_table
    links = JourneyRunMessage._meta.db_table
    events = MessageEvent._meta.db_table
    statuses = list(STEP_FIGURES)
    wanted = ", ".join(["%s"] * len(statuses))  # IN (...), not = ANY(...): SQLite has no arrays
    sql = (
        f"SELECT l.step, e.status, COUNT(DISTINCT e.message_id) FROM {links} l "  # noqa: S608 - names are ours
        f"JOIN {runs} r ON r.id = l.run_id JOIN {events} e ON e.message_id = l.message_id "
        f"WHERE r.version_id = %s AND e.kind IN ('status', 'engagement') AND e.status IN ({wanted}) "
        "GROUP BY l.step, e.status"
    )
    figures: dict[str, dict[str, int]] = defaultdict(dict)
    with connection.cursor() as cursor:
        cursor.execute(sql, [version.pk, *statuses])
        for step, status, n in cursor.fetchall():
            figures[step][status] = n
    return figures


def journey_report(*, version: JourneyVersion) -> JourneyReport:
    runs = JourneyRun.objects.filter(version=version)
    by_status = dict(runs.values_list("status").annotate(n=Count("id")).order_by())
    exits = list(
        runs.filter(status="exited")
        .values_list("exit_event")
        .annotate(n=Count("id"))
        .order_by("-n", "exit_event")
    )
    reached = dict(
        JourneyRunEntry.objects.filter(run__version=version, kind="step_entered")
        .values_list("step")
        .annotate(n=Count("run_id", distinct=True))
        .order_by()
    )
    messages = _message_figures(version)
    steps = [
        StepFigures(
            str(step["id"]),
            str(step.get("type", "")),
            reached.get(str(step["id"]), 0),
            {name: messages.get(str(step["id"]), {}).get(name, 0) for name in STEP_FIGURES},
        )
        for step in (version.definition or {}).get("steps", [])
    ]
    return JourneyReport(
        version=version,
        entered=sum(by_status.values()),
        active=sum(by_status.get(s, 0) for s in ACTIVE),
        completed=by_status.get("completed", 0),
        exited=by_status.get("exited", 0),
        cancelled=by_status.get("cancelled", 0),
        failed=by_status.get("failed", 0),
        converted=runs.filter(converted_at__isnull=False).count(),
        exits=[(event or "(no event)", n) for event, n in exits],
        steps=steps,
    )
