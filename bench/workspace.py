"""Timing the workspace's reads for the benchmark command (no timed assertions in tests)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from hub.messaging.models import DailyRollup
from hub.workspace.reports import report_build
from hub.workspace.search import MessageFilters, messages_search
from templates_app.models import Template


@dataclass(frozen=True)
class Timing:
    what: str
    seconds: float
    detail: str = ""


def bench_rollups_fill(*, messages: int = 10_000_000, days: int = 365) -> int:
    """Rollup rows standing for ``messages`` messages spread over every live template, every
    channel and ``days`` days (what the lifecycle would have written). Returns rows added."""
    templates = list(Template.objects.all()[:50])
    if not templates:
        return 0
    today = timezone.now().date()
    groups = len(templates) * 3 * days
    per_group = max(messages // groups, 1)
    rows = [
        DailyRollup(
            template=t,
            channel=c,
            day=today - timedelta(days=d),
            sent=per_group,
            delivered=per_group * 95 // 100,
        )
        for t in templates
        for c in ("sms", "email", "push")
        for d in range(days)
    ]
    DailyRollup.objects.bulk_create(rows, batch_size=5000, ignore_conflicts=True)
    return len(rows)


def bench_workspace_reads(*, days: int = 365) -> list[Timing]:
    """Time a report over ``days`` and the first and a later page of an unfiltered search."""
    today = timezone.now().date()
    timings = []
    started = time.perf_counter()
    report = report_build(date_from=today - timedelta(days=days - 1), date_to=today)
    timings.append(
        Timing(
            f"report over {days} days",
            time.perf_counter() - started,
            f"{report.total.counts.get('sent', 0)} sent",
        )
    )
    started = time.perf_counter()
    page = messages_search(filters=MessageFilters())
    timings.append(Timing("search, first page", time.perf_counter() - started, f"{len(page.messages)} rows"))
    if page.next_cursor:
        started = time.perf_counter()
        messages_search(filters=MessageFilters(), cursor=page.next_cursor)
        timings.append(Timing("search, next page", time.perf_counter() - started))
    return timings
