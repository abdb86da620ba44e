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
from hub.journeys.engine import run_advance, runs_advance, runs_save
from hub.journeys.models import JourneyRun, JourneyRunMessage, JourneyVersion, RunStatus
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


def _claim(batch_size: int, now: datetime) -> tuple[list[JourneyRun], dict[int, Contact]]:
    """Lock up to ``batch_size`` due runs, oldest first, and their contacts, skipping rows
    someone else holds (an event for that contact, another beat): never waits for a lock, so
    never deadlocks with the event path (which locks the contact first)."""
    runs = list(
        JourneyRun.objects.select_for_update(of=("self",), skip_locked=True)
        .select_related("entry_event")
        .filter(status=RunStatus.WAITING, wake_at__lte=now)
        .order_by("wake_at")[:batch_size]
    )
    if not runs:
        return [], {}
    contacts = {
        c.pk: c
        for c in Contact.objects.select_for_update(skip_locked=True)
        .filter(pk__in={r.contact_id for r in runs})
        .order_by("pk")
    }
    # One instance of each version and journey for the batch: their definitions parsed once.
    versions = {
        v.pk: v
        for v in JourneyVersion.objects.select_related("journey").filter(pk__in={r.version_id for r in runs})
    }
    for run in runs:
        run.version = versions[run.version_id]
        run.journey = run.version.journey
    return runs, contacts


def _wake_batch(batch_size: int, now: datetime) -> int:
    """Advance one batch of due runs in one transaction: their sends in one intake call,
    their rows in one update, their timelines in one insert and one audit append. Returns
    how many it advanced (runs whose contact was locked stay due for the next batch)."""
    with transaction.atomic():
        runs, contacts = _claim(batch_size, now)
        ready = [r for r in runs if r.contact_id in contacts]
        timeline = Timeline(actor=Actor.system(), now=now)
        runs_advance([(r, contacts[r.contact_id], Wake("time")) for r in ready], timeline=timeline)
        runs_save(ready)
        timeline.flush()
    return len(ready)


def journeys_wake_due(*, batch_size: int = 500, budget_seconds: float = 45.0) -> int:
    """Advance waiting runs whose time has come, oldest first, a batch per transaction, until
    none is due or the budget is spent. If a batch fails, its runs are advanced one by one
    (each in its own transaction), so one bad run rolls back alone and stays due. Returns how
    many it advanced."""
    started = clock.monotonic()
    woken = 0
    while clock.monotonic() - started < budget_seconds:
        now = timezone.now()
        try:
            advanced = _wake_batch(batch_size, now)
        except Exception:
            logger.exception("A batch of journey runs failed; advancing them one by one")
            due = list(
                JourneyRun.objects.filter(status=RunStatus.WAITING, wake_at__lte=now)
                .order_by("wake_at")
                .values_list("id", "contact_id")[:batch_size]
            )
            advanced = sum(_wake_safely(run_id, contact_id, now=now) for run_id, contact_id in due)
        woken += advanced
        if advanced == 0:
            break  # nothing due, or all locked by someone else: leave them to the next tick
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
