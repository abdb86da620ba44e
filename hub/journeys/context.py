"""What the step engine passes around: why a run wakes, what a step decides (go on, sleep,
end), and one run being advanced with its definition, contact and timeline."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hub.contacts.models import Contact
from hub.journeys.conditions import ConditionError, condition_evaluate
from hub.journeys.models import Event, JourneyRun
from hub.journeys.timeline import Timeline


@dataclass(frozen=True)
class Wake:
    """Why a waiting run is advanced: its time came, or an event or message status arrived."""

    kind: str  # "time", "event", "message"
    event: Event | None = None
    status: str = ""


@dataclass(frozen=True)
class Go:
    next: str | None  # None: the journey is done


@dataclass(frozen=True)
class Sleep:
    until: datetime | None
    waiting_for: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class End:
    status: str
    reason: str


@dataclass(frozen=True)
class Send:
    """A send step's order: the engine has it made (alone, or with other runs' sends in one
    intake call) and hands the result back to the step."""

    step: Mapping[str, Any]
    data: Mapping[str, Any]


Outcome = Go | Sleep | End | Send


def contact_values(contact: Contact) -> dict[str, Any]:
    return {
        "external_id": contact.external_id,
        "email": contact.email,
        "phone": contact.phone,
        "locale": contact.locale,
        "timezone": contact.timezone,
        "attributes": contact.attributes or {},
    }


def event_values(event: Event | None) -> dict[str, Any]:
    if event is None:
        return {"name": "", "id": "", "occurred_at": "", "data": {}}
    return {
        "name": event.name,
        "id": event.event_id or str(event.id),
        "occurred_at": event.occurred_at.isoformat(),
        "data": event.data or {},
    }


class RunContext:
    """One run being advanced: its definition, contact, entry event and timeline."""

    def __init__(self, run: JourneyRun, *, contact: Contact, timeline: Timeline) -> None:
        self.run = run
        self.contact = contact
        self.timeline = timeline
        self.now = timeline.now
        self.definition: Mapping[str, Any] = run.version.definition
        self.steps: list[Mapping[str, Any]] = list(self.definition["steps"])
        self.by_id = {step["id"]: step for step in self.steps}

    def following(self, step_id: str) -> str | None:
        ids = [s["id"] for s in self.steps]
        index = ids.index(step_id)
        return ids[index + 1] if index + 1 < len(ids) else None

    def after(self, step: Mapping[str, Any], branch_field: str = "") -> str | None:
        return step.get(branch_field) or step.get("next") or self.following(step["id"])

    def values(self, event: Event | None = None) -> dict[str, Any]:
        entry = event if event is not None else self.run.entry_event
        return {
            "contact": contact_values(self.contact),
            "event": event_values(entry),
            "steps": self.run.state.get("steps", {}),
        }

    def record_step(self, step_id: str, **outcome: Any) -> None:
        self.run.state.setdefault("steps", {})[step_id] = outcome

    def log(self, kind: str, step: str = "", **detail: Any) -> None:
        self.timeline.add(self.run, kind, step, **detail)


def condition_holds(source: str, *, contact: Contact, event: Event, run: JourneyRun | None) -> bool:
    """A trigger's (no ``run``), exit event's or ``wait_for``'s condition over the event that
    arrived; one that cannot be evaluated (a missing key) does not hold."""
    values = {"contact": contact_values(contact), "event": event_values(event)}
    if run is not None:
        values["steps"] = run.state.get("steps", {})
    try:
        return condition_evaluate(source, values)
    except ConditionError:
        return False
