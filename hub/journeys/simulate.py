"""Simulate a journey version: one contact, a sequence of events, the real rules and templates,
and nothing written (no events, runs, notifications, messages or audit records).

The run is walked step by step on a simulated clock that starts at the first event (the
trigger). Each send is decided by the compliance engine itself (``decide`` on the rules live
now, the contact's consent, suppressions and frequency caps as they stand) and its content
rendered from the template's live version with the event's data, exactly as a send would be;
waits move the clock; ``wait_for`` and digests take the later events of the sequence (or a
message status given as ``status STEP STATUS``); exit and goal events are looked for while
the run waits. Conditions are evaluated by the same CEL code as runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime

from hub.compliance.engine import Outcome, decide
from hub.compliance.rules import rules_current
from hub.contacts.models import Contact
from hub.journeys.conditions import ConditionError, condition_evaluate
from hub.journeys.context import contact_values
from hub.journeys.definition import duration
from hub.journeys.lint import EXPIRY_WORDS
from hub.journeys.models import JourneyRun
from hub.journeys.steps import local_time_after
from hub.journeys.summaries import following, timedelta_words
from hub.messaging.addressing import address_of, newest_devices
from hub.messaging.decide import batch_facts_load, cap_counts_load, cap_windows
from hub.messaging.live_templates import live_templates
from hub.messaging.models import Message
from templates_app.models import VariableType
from templates_app.rendering import (
    RenderError,
    validate_data,
    variant_render,
    variant_select,
    version_channels,
)

MAX_STEPS = 100
MAX_EVENTS = 200
_OFFSET = re.compile(r"^\+(\d+)([smhd])$")


class SimulationInputError(ValueError):
    """A line of the event list that cannot be read; ``line`` is its number (1-based)."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}")


@dataclass(frozen=True)
class SimEvent:
    """An event (or, with ``status``, a message status of step ``name``) ``after`` the start."""

    after: timedelta
    name: str
    data: Mapping[str, Any] = field(default_factory=dict)
    status: str = ""


@dataclass
class SimStep:
    step: str
    kind: str
    at: datetime
    outcome: str
    notes: list[str] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Simulation:
    started: bool
    ending: str
    steps: list[SimStep] = field(default_factory=list)
    converted: str = ""


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def events_parse(text: str) -> list[SimEvent]:
    """Lines of ``+OFFSET NAME key=value ...`` (or ``+OFFSET status STEP STATUS``); the first is
    the trigger. Values are JSON where they parse as JSON (numbers, true), else text."""
    events: list[SimEvent] = []
    lines = text.splitlines()
    if len(lines) > MAX_EVENTS:
        raise SimulationInputError(MAX_EVENTS + 1, f"simulate at most {MAX_EVENTS} events.")
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = line.split()
        offset = _OFFSET.match(words[0])
        if offset is None:
            raise SimulationInputError(number, "start with the time after the first event, e.g. +0m or +2h.")
        after = duration(f"{offset.group(1)}{offset.group(2)}") if offset.group(1) != "0" else timedelta(0)
        if len(words) < 2:
            raise SimulationInputError(number, "name the event after the time.")
        if words[1] == "status":
            if len(words) != 4:
                raise SimulationInputError(number, "write a message status as: +1h status STEP STATUS.")
            events.append(SimEvent(after, words[2], status=words[3]))
            continue
        data: dict[str, Any] = {}
        for pair in words[2:]:
            key, sep, value = pair.partition("=")
            if not sep or not key:
                raise SimulationInputError(number, f"'{pair}' is not key=value.")
            data[key] = _value(value)
        events.append(SimEvent(after, words[1], data))
    if not events:
        raise SimulationInputError(
            1, "give at least the trigger event, e.g. +0m cart.abandoned cart_total=40."
        )
    return sorted(events, key=lambda e: e.after)


def _event_values(event: SimEvent, at: datetime) -> dict[str, Any]:
    return {"name": event.name, "id": "simulated", "occurred_at": at.isoformat(), "data": dict(event.data)}


def _holds(source: str, values: Mapping[str, Any]) -> tuple[bool, str]:
    try:
        return condition_evaluate(source, values), ""
    except ConditionError as exc:
        return False, str(exc)[:200]


class _Walk:
    def __init__(
        self, definition: Mapping[str, Any], contact: Contact, events: Sequence[SimEvent], start: datetime
    ) -> None:
        self.definition = definition
        self.contact = contact
        self.trigger = events[0]
        self.later = list(events[1:])
        self.start = start
        self.now = start
        self.by_id = {s["id"]: s for s in definition["steps"]}
        self.outcomes: dict[str, dict[str, Any]] = {}
        self.result = Simulation(started=True, ending="")
        self.exit_names = {e["event"]: e for e in definition.get("exit_events", [])}

    def at(self, event: SimEvent) -> datetime:
        return self.start + event.after

    def values(self, event: SimEvent | None = None) -> dict[str, Any]:
        entry = event or self.trigger
        return {
            "contact": contact_values(self.contact),
            "event": _event_values(entry, self.at(entry)),
            "steps": self.outcomes,
        }

    def _goal(self, until: datetime) -> None:
        goal = self.definition.get("goal")
        if goal is None or self.result.converted:
            return
        limit = self.start + duration(goal["within"]) if "within" in goal else None
        for event in self.later:
            at = self.at(event)
            if (
                event.name == goal["event"]
                and not event.status
                and at <= until
                and (limit is None or at <= limit)
            ):
                self.result.converted = f"converted by `{event.name}` at +{timedelta_words(event.after)}"
                return

    def wait_until(self, until: datetime, *, take: Any = None) -> SimEvent | str | None:
        """Move the clock to ``until``, stopping at an exit event ("exit" note returned as a
        string) or at the first event ``take`` accepts (returned)."""
        for event in list(self.later):
            at = self.at(event)
            if at <= self.now or at > until:
                continue
            exit_event = self.exit_names.get(event.name) if not event.status else None
            if exit_event is not None:
                holds, _ = (
                    _holds(exit_event["condition"], self.values(event))
                    if "condition" in exit_event
                    else (True, "")
                )
                if holds:
                    self.now = at
                    self._goal(at)
                    return f"exited by `{event.name}` at +{timedelta_words(event.after) if event.after else '0m'}"
            if take is not None and take(event):
                self.now = at
                return event
        self.now = until
        return None

    def run(self) -> Simulation:
        current: str | None = self.definition["steps"][0]["id"]
        for _ in range(MAX_STEPS):
            if current is None:
                self.result.ending = "completed: reached the end of the journey"
                break
            step = self.by_id[current]
            record = SimStep(current, step["type"], self.now, "")
            self.result.steps.append(record)
            nxt, ended = getattr(self, f"_{step['type']}")(step, record)
            if ended:
                self.result.ending = ended
                break
            current = nxt
        else:
            self.result.ending = f"failed: more than {MAX_STEPS} steps (a loop?)"
        self._goal(self.now)
        return self.result

    def after(self, step: Mapping[str, Any], field_name: str = "") -> str | None:
        return step.get(field_name) or step.get("next") or following(self.definition, step["id"])

    # --- the step kinds: each returns (next step, "" or why the run ended) -------------

    def _send(
        self, step: Mapping[str, Any], record: SimStep, data: Mapping[str, Any] | None = None
    ) -> tuple[str | None, str]:
        payload = data if data is not None else {**self.trigger.data, **step.get("data", {})}
        outcome, notes, messages, not_before = simulate_send(
            contact=self.contact, step=step, data=payload, at=self.now
        )
        record.outcome, record.notes, record.messages = outcome, notes, messages
        self.outcomes[step["id"]] = {
            "outcome": outcome,
            "status": "sent" if outcome == "sent" else "",
            "block_reason": next((m.get("block_reason", "") for m in messages if m.get("block_reason")), ""),
        }
        if outcome == "failed":
            return None, f"failed at step {step['id']}: {notes[-1] if notes else 'the send failed'}"
        if outcome == "deferred" and not_before is not None:
            record.notes.append(f"the run waits until {not_before:%Y-%m-%d %H:%M} UTC, then the message goes")
            ended = self.wait_until(not_before)
            if isinstance(ended, str):
                return None, ended
            self.outcomes[step["id"]]["outcome"] = "sent"
        if outcome == "blocked":
            return self.after(step, "on_blocked"), ""
        return self.after(step), ""

    def _wait(self, step: Mapping[str, Any], record: SimStep) -> tuple[str | None, str]:
        if "duration" in step:
            until = self.now + duration(step["duration"])
        else:
            until = local_time_after(self.now, step["until"], self.contact.timezone)
        record.outcome = "waited"
        record.notes.append(f"until {until:%Y-%m-%d %H:%M} UTC")
        ended = self.wait_until(until)
        return (None, ended) if isinstance(ended, str) else (self.after(step), "")

    def _wait_for(self, step: Mapping[str, Any], record: SimStep) -> tuple[str | None, str]:
        until = self.now + duration(step["timeout"])
        # As in a real run: a step that sent nothing (blocked, not reached) gets no status reports,
        # so the run can only time out; the status lines given for it are set aside, and said so.
        silent = "message" in step and self.outcomes.get(step["message"]["step"], {}).get("outcome") != "sent"
        if silent:
            record.notes.append(
                f"step {step['message']['step']} sent nothing, so no status of it can come: "
                "the status lines given for it are ignored"
            )

        def take(event: SimEvent) -> bool:
            if "message" in step:
                target = step["message"]
                return (
                    not silent
                    and bool(event.status)
                    and event.name == target["step"]
                    and event.status in target["status"]
                )
            if event.status or event.name != step["event"]:
                return False
            return "condition" not in step or _holds(step["condition"], self.values(event))[0]

        got = self.wait_until(until, take=take)
        if isinstance(got, str):
            record.outcome = "exited"
            return None, got
        if got is None:
            record.outcome = "timeout"
            record.notes.append(f"nothing came within {timedelta_words(duration(step['timeout']))}")
            self.outcomes[step["id"]] = {"outcome": "timeout"}
            return self.after(step, "on_timeout"), ""
        record.outcome = "matched"
        record.notes.append(f"{got.status or got.name} at +{timedelta_words(got.after)}")
        self.outcomes[step["id"]] = {
            "outcome": "matched",
            "status": got.status,
            "event": {"name": got.name, "data": dict(got.data)},
        }
        return self.after(step, "on_match"), ""

    def _branch(self, step: Mapping[str, Any], record: SimStep) -> tuple[str | None, str]:
        values = self.values()
        for index, branch in enumerate(step["branches"]):
            holds, error = _holds(branch["condition"], values)
            label = branch.get("label") or f"branch {index + 1}"
            if error:
                record.notes.append(f"{label}: could not be evaluated ({error}); counts as false")
            if holds:
                record.outcome = f"took {label}"
                record.notes.append(f"{branch['condition']} is true")
                self.outcomes[step["id"]] = {"outcome": "branch", "branch": label}
                return branch["next"], ""
        record.outcome = "took default"
        record.notes.append("no condition was true")
        self.outcomes[step["id"]] = {"outcome": "default", "branch": "default"}
        return self.after(step, "default"), ""

    def _digest(self, step: Mapping[str, Any], record: SimStep) -> tuple[str | None, str]:
        key = step.get("key")
        key_value = self.trigger.data.get(key) if key else None
        gathered = [dict(self.trigger.data)] if self.trigger.name == step["event"] else []
        limit = step.get("max_events", 10**9)
        until = self.now + duration(step["window"])

        def take(event: SimEvent) -> bool:
            return (
                not event.status
                and event.name == step["event"]
                and (key is None or event.data.get(key) == key_value)
            )

        reason = "window"
        while len(gathered) < limit:
            got = self.wait_until(until, take=take)
            if isinstance(got, str):
                record.outcome = "exited"
                return None, got
            if got is None:
                break
            gathered.append(dict(got.data))
            self.later.remove(got)
        else:
            reason = "count"
        record.notes.append(
            f"closed by {reason} with {len(gathered)} event{'s' if len(gathered) != 1 else ''}"
        )
        data = {**step.get("data", {}), "events": gathered, "count": len(gathered)}
        notes = record.notes
        nxt, ended = self._send(step, record, data)
        record.notes = notes + record.notes
        return nxt, ended

    def _exit(self, step: Mapping[str, Any], record: SimStep) -> tuple[str | None, str]:
        record.outcome = "exit"
        return None, f"completed: exit step {step['id']}"


def _expired(version: Any, data: Mapping[str, Any], at: datetime) -> list[str]:
    notes = []
    for variable in version.variables.all():
        if variable.type not in (VariableType.DATE, VariableType.DATETIME):
            continue
        if not any(word in variable.name.lower() for word in EXPIRY_WORDS) or variable.name not in data:
            continue
        raw = str(data[variable.name])
        when = parse_datetime(raw) or (
            datetime.combine(d, datetime.min.time(), tzinfo=at.tzinfo) if (d := parse_date(raw)) else None
        )
        if when is not None and when.tzinfo is None:
            when = when.replace(tzinfo=at.tzinfo)
        if when is not None and when < at:
            notes.append(f"`{variable.name}` ({raw}) has passed when this send would go")
    return notes


def simulate_send(
    *, contact: Contact, step: Mapping[str, Any], data: Mapping[str, Any], at: datetime
) -> tuple[str, list[str], list[dict[str, Any]], datetime | None]:
    """What a send step would do now: (outcome, notes, per-channel messages, deferred until).

    The same checks as the intake (a live version, its channels, its data), the same
    addresses and routing, the compliance engine's decision, and the rendered content."""
    live = live_templates([step["template"]]).get(step["template"])
    if live is None or live.version is None:
        return "failed", [f"template `{step['template']}` has no approved version"], [], None
    version = live.version
    available = version_channels(version)
    channels = list(step.get("channels", [])) or available
    missing = [c for c in channels if c not in available]
    if missing:
        return "failed", [f"template `{live.template.key}` has no {', '.join(missing)} content"], [], None
    if problems := validate_data(version, data):
        return "failed", [" ".join(p.message for p in problems)], [], None
    notes = _expired(version, data, at)
    devices = newest_devices([contact.pk])
    rules = rules_current()
    variants = list(version.variants.all())
    locale = contact.locale or live.template.default_locale
    messages: list[dict[str, Any]] = []
    windows = cap_windows(rules)
    caps = cap_counts_load([contact.pk], windows, now=at) if windows else {}
    for channel in channels:
        address = address_of(channel, {"external_id": contact.external_id}, contact, devices)
        item: dict[str, Any] = {"channel": channel, "to": address}
        messages.append(item)
        if not address:
            item.update(
                outcome=Outcome.BLOCK, block_reason="no_address", sentence=f"blocked: no {channel} address"
            )
            continue
        message = Message(channel=channel, category=live.template.category, to=address)
        loaded = batch_facts_load([message], {message.id: contact})
        facts = loaded.facts(message, contact, caps.get((contact.pk, channel, live.template.category), {}))
        decision = decide(facts, rules, at)
        item.update(outcome=decision.outcome, sentence=decision.sentence, block_reason=decision.reason)
        if decision.not_before:
            item["not_before"] = decision.not_before
        variant = variant_select(
            variants, channel=channel, locale=locale, default_locale=live.template.default_locale
        )
        if variant is not None:
            try:
                item["content"] = variant_render(variant, data).as_dict()
            except RenderError as exc:
                item["render_error"] = str(exc)
        if step.get("routing", "first") == "first":
            break
    outcomes = {m["outcome"] for m in messages}
    if Outcome.ALLOW in outcomes:
        return "sent", notes, messages, None
    if Outcome.DEFER in outcomes:
        not_before = min(m["not_before"] for m in messages if m.get("not_before"))
        return "deferred", notes, messages, not_before
    return "blocked", notes, messages, None


def _reentry_refusal(definition: Mapping[str, Any], contact: Contact, start: datetime) -> str:
    """Why the re-entry policy keeps this contact out now (as the event intake decides), or ""."""
    reentry = definition.get("reentry", {"policy": "once"})
    runs = JourneyRun.objects.filter(journey__key=definition["key"], contact=contact)
    if reentry["policy"] == "once" and runs.exists():
        return "not started: this contact already entered this journey (a contact enters once)"
    if (
        reentry["policy"] == "once_per"
        and runs.filter(created_at__gt=start - duration(reentry["period"])).exists()
    ):
        period = timedelta_words(duration(reentry["period"]))
        return f"not started: this contact entered this journey within the last {period}"
    return ""


def journey_simulate(
    definition: Mapping[str, Any], *, contact: Contact, events: Sequence[SimEvent], start: datetime
) -> Simulation:
    """Walk ``definition`` for ``contact`` given ``events`` (the first is the trigger), from
    ``start``. Reads only."""
    trigger = definition["trigger"]
    first = events[0]
    if first.status or first.name != trigger["event"]:
        return Simulation(False, f"not started: the first event must be the trigger, `{trigger['event']}`")
    if "condition" in trigger:
        values = {"contact": contact_values(contact), "event": _event_values(first, start)}
        holds, error = _holds(trigger["condition"], values)
        if not holds:
            why = f" ({error})" if error else ""
            return Simulation(
                False, f"not started: the trigger's condition is false for this contact and event{why}"
            )
    if refusal := _reentry_refusal(definition, contact, start):
        return Simulation(False, refusal)
    walk = _Walk(definition, contact, events, start)
    try:
        return walk.run()
    except OverflowError:  # waits of 999999d in a loop
        walk.result.ending = "failed: the simulated clock ran past the year 9999 (a loop of long waits?)"
        return walk.result
