"""Beat wakes waiting runs whose time has come (see hub.journeys.wake)."""

from __future__ import annotations

from celery import shared_task

from hub.journeys.wake import journeys_wake_due


@shared_task(name="hub.journeys.tasks.wake_due_runs")
def wake_due_runs() -> int:
    return journeys_wake_due()
