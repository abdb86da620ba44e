"""Waking waiting runs: by time (beat, in batches, oldest due first) and by message status.

Waiting runs sleep in PostgreSQL (``JourneyRun.wake_at``, indexed for waiting runs only), not
in the broker: a million waiting runs cost rows, not queued tasks or memory.
"""

from __future__ import annotations

import logging
import time as clock
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from audit.services import Actor
from hub.contacts.models import Contact
from hub.journeys.context import Wake
from hub.journeys.engine import run_advance
from hub.journeys.models import JourneyRun, JourneyRunMessage, RunStatus
from hub.journeys.schema import WAITABLE_STATUSES
from hub.journeys.timeline import Timeline
from hub.messaging.effects import AppliedChanges

logger = logging.getLogger(__name__)


def _wake_one(run_id: UUID, contact_id: int, *, now: datetime) -> bool:
    with transaction.atomic():
        contact = Contact.objects.select_for_update().filter(pk=contact_id).first()
        run = (
            JourneyRun.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("journey", "version", "entry_event")
            .filter(pk=run_id, status=RunStatus.WAITING, wake_at__lte=now)
            .first()
        )
        if run is None or contact is None:
            return False  # woken meanwhile (an event, another beat) or its contact erased
        timeline = Timeline(actor=Actor.system(), now=now)
        run_advance(run, contact=contact, timeline=timeline, wake=Wake("time"))
        timeline.flush()
    return True


def _wake_safely(run_id: UUID, contact_id: int, *, now: datetime) -> bool:
    """One run; an error rolls back that run's step alone (it stays due, tried again next
    tick) and never stops the others."""
    try:
        return _wake_one(run_id, contact_id, now=now)
    except Exception:
        logger.exception("Journey run %s could not be advanced; it stays due", run_id)
        return False


def journeys_wake_due(*, batch_size: int = 500, budget_seconds: float = 45.0) -> int:
    """Advance waiting runs whose time has come, oldest first, batch after batch until none is
    due or the budget is spent; each run in its own transaction. Returns how many it advanced."""
    started = clock.monotonic()
    woken = 0
    while clock.monotonic() - started < budget_seconds:
        now = timezone.now()
        due = list(
            JourneyRun.objects.filter(status=RunStatus.WAITING, wake_at__lte=now)
            .order_by("wake_at")
            .values_list("id", "contact_id")[:batch_size]
        )
        if not due:
            break
        advanced = sum(_wake_safely(run_id, contact_id, now=now) for run_id, contact_id in due)
        woken += advanced
        if advanced == 0:
            break  # all locked by someone else: leave them to the next tick
    return woken


class StatusChange(Protocol):
    """A status change as the lifecycle reports it (``hub.messaging.lifecycle.Change``), or an
    engagement (``to``: ``opened``, ``clicked``)."""

    @property
    def message_id(self) -> UUID: ...

    @property
    def to(self) -> str: ...


def journeys_on_status_change(changes: Sequence[StatusChange], *, source: str, occurred_at: datetime) -> None:
    """Resume runs whose ``wait_for`` waits for one of these messages to reach a status (or
    engagement: ``opened``, ``clicked``), inside the caller's transaction.

    The lifecycle calls it for every batch of applied changes through the status-change
    effects registry (``journeys_after_transition``)."""
    # Most changes (accepted, queued, sending...) can wake nothing: no query for them.
    by_message: dict[UUID, str] = {c.message_id: c.to for c in changes if c.to in WAITABLE_STATUSES}
    if not by_message:
        return
    links = JourneyRunMessage.objects.filter(message_id__in=list(by_message)).values_list(
        "run_id", "step", "message_id"
    )
    wanted: dict[UUID, list[tuple[str, str]]] = {}
    for run_id, step, message_id in links:
        wanted.setdefault(run_id, []).append((step, by_message[message_id]))
    if not wanted:
        return
    runs = (
        JourneyRun.objects.select_for_update(of=("self",))
        .select_related("journey", "version", "entry_event", "contact")
        .filter(pk__in=list(wanted), status=RunStatus.WAITING, waiting_for__kind="message")
    )
    timeline = Timeline(actor=Actor.system(), now=occurred_at)
    for run in runs:
        waiting: dict[str, Any] = run.waiting_for
        reached = [
            s
            for step, s in wanted[run.id]
            if step == waiting.get("step") and s in waiting.get("statuses", [])
        ]
        if reached:
            run_advance(run, contact=run.contact, timeline=timeline, wake=Wake("message", status=reached[0]))
    timeline.flush()


def journeys_after_transition(applied: AppliedChanges) -> None:
    """The journeys' status-change effect (registered in ``JourneysConfig.ready``)."""
    journeys_on_status_change(applied.changes, source=applied.source, occurred_at=applied.occurred_at)
