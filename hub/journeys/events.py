"""Events in (SPEC §4 ``POST /api/v1/events``): store the event once, then end, convert,
resume and start the runs it concerns, all in one transaction.

Each event is handled with its contact's row locked, so events, wake-ups and exits for one
contact apply one at a time and a run is never started twice for one entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import Actor
from hub.apikeys.models import ApiKey
from hub.contacts.models import Contact
from hub.journeys.context import Wake, condition_holds
from hub.journeys.definition import duration
from hub.journeys.engine import run_advance, run_end
from hub.journeys.models import Event, Journey, JourneyRun, RunEntryKind, RunStatus
from hub.journeys.steps import run_awaits_event
from hub.journeys.timeline import Timeline
from hub.tracking.conversions import conversion_record

LIVE = (RunStatus.ACTIVE, RunStatus.WAITING)


class EventRejected(Exception):
    """The event cannot be accepted; ``code`` is stable, ``field`` names the culprit."""

    def __init__(self, code: str, detail: str, *, field: str = "", status: int = 422) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.field = field
        self.status = status


@dataclass(frozen=True)
class EventInput:
    """A validated event (the API's serializer checked its shape)."""

    name: str
    contact: str  # external_id
    data: Mapping[str, Any] = field(default_factory=dict)
    occurred_at: datetime | None = None
    id: str = ""


@dataclass(frozen=True)
class EventOutcome:
    event: Event
    replayed: bool


def _run_line(run: JourneyRun, action: str) -> dict[str, Any]:
    return {
        "run": str(run.id),
        "journey": run.journey.key,
        "version": run.version.number,
        "action": action,
        "status": run.status,
        "step": run.step,
    }


def _exit_matches(run: JourneyRun, event: Event, contact: Contact) -> bool:
    return any(
        exit_event["event"] == event.name
        and (
            "condition" not in exit_event
            or condition_holds(exit_event["condition"], contact=contact, event=event, run=run)
        )
        for exit_event in run.version.definition.get("exit_events", [])
    )


def _convert(event: Event, contact: Contact, timeline: Timeline) -> list[dict[str, Any]]:
    """Runs (ended or not) whose goal is this event and that have not converted yet."""
    lines = []
    runs = (
        JourneyRun.objects.select_for_update(of=("self",))
        .select_related("journey", "version", "entry_event")
        .filter(contact=contact, converted_at__isnull=True, version__goal_event=event.name)
    )
    for run in runs:
        goal = run.version.definition["goal"]
        if "within" in goal and event.occurred_at > run.created_at + duration(goal["within"]):
            continue
        run.converted_at = timeline.now
        run.save(update_fields=["converted_at", "updated_at"])
        timeline.add(run, RunEntryKind.CONVERTED, run.step, event=event.name, event_id=str(event.id))
        lines.append(_run_line(run, "converted"))
    return lines


def _may_enter(journey: Journey, contact: Contact, event: Event) -> str | None:
    """The run's entry key if the contact may enter now (re-entry policy), else None."""
    reentry = journey.live_version.definition.get("reentry", {"policy": "once"})  # type: ignore[union-attr]
    policy = reentry["policy"]
    if policy == "once":
        return None if JourneyRun.objects.filter(journey=journey, contact=contact).exists() else "once"
    if policy == "once_per":
        since = event.received_at - duration(reentry["period"])
        if JourneyRun.objects.filter(journey=journey, contact=contact, created_at__gt=since).exists():
            return None
    return str(event.id)


def _start(event: Event, contact: Contact, timeline: Timeline, *, skip: set[int]) -> list[dict[str, Any]]:
    lines = []
    journeys = Journey.objects.select_related("live_version").filter(live_version__trigger_event=event.name)
    for journey in journeys.exclude(pk__in=skip).order_by("key"):
        version = journey.live_version
        assert version is not None  # noqa: S101 - filtered on it
        trigger = version.definition["trigger"]
        if "condition" in trigger and not condition_holds(
            trigger["condition"], contact=contact, event=event, run=None
        ):
            continue
        entry = _may_enter(journey, contact, event)
        if entry is None:
            continue
        run = JourneyRun.objects.create(
            journey=journey,
            version=version,
            contact=contact,
            entry=entry,
            entry_event=event,
            api_key=event.api_key,
        )
        timeline.add(run, RunEntryKind.STARTED, event=event.name, event_id=str(event.id))
        run_advance(run, contact=contact, timeline=timeline)
        lines.append(_run_line(run, "started"))
    return lines


def journeys_on_event(event: Event, contact: Contact, timeline: Timeline) -> list[dict[str, Any]]:
    """End the runs that exit on ``event``, convert those whose goal it is, resume those
    waiting for it, start the journeys it triggers. The caller holds the contact's lock."""
    lines: list[dict[str, Any]] = []
    absorbed: set[int] = set()
    live = (
        JourneyRun.objects.select_for_update(of=("self",))
        .select_related("journey", "version", "entry_event")
        .filter(contact=contact, status__in=LIVE)
        .order_by("created_at")
    )
    for run in live:
        if _exit_matches(run, event, contact):
            run_end(
                run, status=RunStatus.EXITED, reason="exit event", timeline=timeline, exit_event=event.name
            )
            lines.append(_run_line(run, "exited"))
        elif run_awaits_event(run, event, contact):
            if run.waiting_for.get("kind") == "digest":
                absorbed.add(run.journey_id)
            run_advance(run, contact=contact, timeline=timeline, wake=Wake("event", event=event))
            lines.append(_run_line(run, "resumed"))
    lines += _convert(event, contact, timeline)
    lines += _start(event, contact, timeline, skip=absorbed)
    return lines


def _replay(item: EventInput, api_key: ApiKey | None) -> EventOutcome | None:
    existing = Event.objects.select_related("contact").filter(api_key=api_key, event_id=item.id).first()
    if existing is None:
        return None
    if existing.name != item.name or existing.contact.external_id != item.contact:
        raise EventRejected(
            "event_id_reused",
            f"Event id '{item.id}' was already used for another event ({existing.name}).",
            field="id",
        )
    return EventOutcome(existing, replayed=True)


def event_record(*, item: EventInput, api_key: ApiKey | None) -> EventOutcome:
    """Store one event and apply it to journeys; a repeated ``id`` (per API key) is answered
    with the first one's outcome and changes nothing. Raises EventRejected (writing nothing)."""
    now = timezone.now()
    actor = Actor.api_key(api_key.pk) if api_key else Actor.system()
    with transaction.atomic():
        contact = Contact.objects.select_for_update().filter(external_id=item.contact).first()
        if contact is None:
            raise EventRejected(
                "unknown_contact",
                f"There is no contact with external_id '{item.contact}'.",
                field="contact.external_id",
            )
        if item.id and (replay := _replay(item, api_key)):
            return replay
        try:
            with transaction.atomic():
                event = Event.objects.create(
                    api_key=api_key,
                    event_id=item.id,
                    name=item.name,
                    contact=contact,
                    data=dict(item.data),
                    occurred_at=item.occurred_at or now,
                )
        except IntegrityError:
            # The same id for another contact, committed meanwhile (each holds its own contact).
            replay = _replay(item, api_key)
            if replay is None:
                raise
            return replay
        timeline = Timeline(actor=actor, now=now)
        event.result = journeys_on_event(event, contact, timeline)
        event.save(update_fields=["result"])
        # A template's or journey's goal: a conversion for the latest delivered message.
        conversion_record(event=event, contact=contact)
        timeline.flush()
    return EventOutcome(event, replayed=False)


def journey_run_cancel(*, run: JourneyRun, actor: Actor) -> JourneyRun:
    """Cancel a run that has not ended. Raises RunNotCancellable if it has."""
    with transaction.atomic():
        Contact.objects.select_for_update().filter(pk=run.contact_id).first()
        locked = (
            JourneyRun.objects.select_for_update(of=("self",))
            .select_related("journey", "version")
            .get(pk=run.pk)
        )
        if locked.status not in LIVE:
            raise RunNotCancellable(f"This run has already ended ({locked.status}).")
        timeline = Timeline(actor=actor, now=timezone.now())
        run_end(locked, status=RunStatus.CANCELLED, reason="cancelled", timeline=timeline)
        timeline.flush()
    return locked


class RunNotCancellable(Exception):
    """The run has already ended."""
