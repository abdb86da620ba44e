"""The journey editor: forms ⇄ definition, and saving through the version services.

A definition built from the forms is checked by ``definition_check``, the very validator
``journeys push`` uses, and every problem is put back on the field it names (``steps.2.next``
→ the third step's "Then go to"). Saving goes through ``journey_create``,
``journey_draft_create`` and ``journey_draft_edit``, so maker-checker and the audit hold.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.db import transaction

from audit.services import Actor
from hub.journeys.definition import DefinitionProblem, InvalidDefinition, definition_check
from hub.journeys.forms import KIND_FIELDS, JourneyForm, StepForm
from hub.journeys.models import Journey, JourneyVersion
from hub.journeys.services.versions import (
    JourneyWorkflowError,
    journey_create,
    journey_draft_create,
    journey_draft_edit,
)

_TEXT_FIELDS = (
    "title",
    "template",
    "on_blocked",
    "duration",
    "until",
    "event",
    "condition",
    "timeout",
    "on_match",
    "on_timeout",
    "default",
    "window",
    "key",
    "next",
)
_BRANCH = re.compile(r"^(?P<condition>.+?)\s*=>\s*(?P<next>[a-z][a-z0-9_]*)\s*(?:\|\s*(?P<label>.*))?$")


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def condition_build(field: str, operator: str, value: str) -> str:
    """A CEL comparison from the builder's three fields: ``cart_total`` is the event's data
    field, ``contact.…`` the contact's; numbers and true/false stay as they are, anything
    else is a quoted string."""
    path = field.strip()
    if not path.startswith(("contact.", "event.")):
        path = f"event.data.{path}"
    text = value.strip()
    plain = re.fullmatch(r"-?\d+(\.\d+)?", text) or text in ("true", "false")
    literal = text if plain else json.dumps(text)  # a CEL string literal, quotes escaped
    return f"{path} {operator or '=='} {literal}"


def step_from_form(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """A step from one form's cleaned data, and the problems of its free-text fields (by field)."""
    kind = data["type"]
    shown = set(KIND_FIELDS[kind])
    step: dict[str, Any] = {"id": data["id"].strip(), "type": kind}
    errors: dict[str, str] = {}
    if data.get("title"):
        step["title"] = data["title"]
    for name in _TEXT_FIELDS:
        if name in shown and (value := (data.get(name) or "").strip()):
            step[name] = value
    if "channels" in shown and data.get("channels"):
        step["channels"] = list(data["channels"])
    if "routing" in shown and data.get("routing"):
        step["routing"] = data["routing"]
    if "max_events" in shown and data.get("max_events"):
        step["max_events"] = data["max_events"]
    if "extra_data" in shown and data.get("extra_data", "").strip():
        extra: dict[str, Any] = {}
        for line in _lines(data["extra_data"]):
            key, sep, value = line.partition("=")
            if not sep or not key.strip():
                errors["extra_data"] = f"'{line}' is not key=value."
                break
            extra[key.strip()] = _value(value.strip())
        step["data"] = extra
    if kind == "wait_for" and (data.get("message_step") or "").strip():
        step["message"] = {
            "step": data["message_step"].strip(),
            "status": list(data.get("message_status") or []),
        }
    if kind == "branch":
        branches = []
        for line in _lines(data.get("branches") or ""):
            match = _BRANCH.match(line)
            if match is None:
                errors["branches"] = f"'{line}' is not CONDITION => step_id."
                break
            branch = {"condition": match["condition"].strip(), "next": match["next"]}
            if match["label"]:
                branch["label"] = match["label"].strip()
            branches.append(branch)
        if (data.get("if_field") or "").strip():
            if not (data.get("if_next") or "").strip():
                errors["if_next"] = "Say which step the branch goes to."
            else:
                condition = condition_build(
                    data["if_field"], data.get("if_op") or "==", data.get("if_value") or ""
                )
                branches.append({"condition": condition, "next": data["if_next"].strip()})
        step["branches"] = branches
    return step, errors


def definition_from_forms(
    journey: Mapping[str, Any], steps: Sequence[Mapping[str, Any]]
) -> tuple[dict[str, Any], dict[str, str], list[dict[str, str]]]:
    """The definition the forms describe, with the problems of free-text fields of the journey
    form and of each step form (in the order of ``steps``)."""
    errors: dict[str, str] = {}
    definition: dict[str, Any] = {"key": journey["key"], "name": journey["name"]}
    if journey.get("description"):
        definition["description"] = journey["description"]
    trigger: dict[str, Any] = {"event": journey["trigger_event"].strip()}
    conditions = (
        [journey["trigger_condition"].strip()] if (journey.get("trigger_condition") or "").strip() else []
    )
    if (journey.get("when_field") or "").strip():
        conditions.append(
            condition_build(
                journey["when_field"], journey.get("when_op") or "==", journey.get("when_value") or ""
            )
        )
    if conditions:
        trigger["condition"] = (
            conditions[0] if len(conditions) == 1 else " && ".join(f"({c})" for c in conditions)
        )
    if (journey.get("event_fields") or "").strip():
        fields: dict[str, str] = {}
        for pair in re.split(r"[,\n]", journey["event_fields"]):
            if not pair.strip():
                continue
            name, sep, kind = pair.partition(":")
            if not sep:
                errors["event_fields"] = f"'{pair.strip()}' is not name:type."
                break
            fields[name.strip()] = kind.strip()
        trigger["event_fields"] = fields
    definition["trigger"] = trigger
    reentry: dict[str, Any] = {"policy": journey.get("reentry_policy") or "once"}
    if (journey.get("reentry_period") or "").strip():
        reentry["period"] = journey["reentry_period"].strip()
    definition["reentry"] = reentry
    exits = []
    for line in _lines(journey.get("exit_events") or ""):
        name, _, condition = line.partition(" if ")
        exit_event = {"event": name.strip()}
        if condition.strip():
            exit_event["condition"] = condition.strip()
        exits.append(exit_event)
    if exits:
        definition["exit_events"] = exits
    if (journey.get("goal_event") or "").strip():
        goal = {"event": journey["goal_event"].strip()}
        if (journey.get("goal_within") or "").strip():
            goal["within"] = journey["goal_within"].strip()
        definition["goal"] = goal
    elif (journey.get("goal_within") or "").strip():
        errors["goal_within"] = "Name the goal event too."
    built, step_errors = [], []
    for data in steps:
        step, problems = step_from_form(data)
        built.append(step)
        step_errors.append(problems)
    definition["steps"] = built
    return definition, errors, step_errors


def forms_initial(definition: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The initial values of the journey form and of each step form for a definition."""
    trigger = definition["trigger"]
    journey = {
        "key": definition["key"],
        "name": definition["name"],
        "description": definition.get("description", ""),
        "trigger_event": trigger["event"],
        "trigger_condition": trigger.get("condition", ""),
        "event_fields": ", ".join(f"{k}:{v}" for k, v in trigger.get("event_fields", {}).items()),
        "reentry_policy": definition.get("reentry", {}).get("policy", "once"),
        "reentry_period": definition.get("reentry", {}).get("period", ""),
        "exit_events": "\n".join(
            e["event"] + (f" if {e['condition']}" if "condition" in e else "")
            for e in definition.get("exit_events", [])
        ),
        "goal_event": definition.get("goal", {}).get("event", ""),
        "goal_within": definition.get("goal", {}).get("within", ""),
    }
    steps = []
    for index, step in enumerate(definition["steps"]):
        initial = {name: step.get(name, "") for name in ("id", "type", *_TEXT_FIELDS)}
        initial |= {
            "channels": step.get("channels", []),
            "routing": step.get("routing", ""),
            "max_events": step.get("max_events"),
            "extra_data": "\n".join(f"{k}={_text(v)}" for k, v in step.get("data", {}).items()),
            "message_step": step.get("message", {}).get("step", ""),
            "message_status": step.get("message", {}).get("status", []),
            "branches": "\n".join(
                f"{b['condition']} => {b['next']}" + (f" | {b['label']}" if "label" in b else "")
                for b in step.get("branches", [])
            ),
            "ORDER": index + 1,
        }
        steps.append(initial)
    return journey, steps


# Where each definition path lands: (form, field); steps' own names are mostly their fields.
_JOURNEY_FIELDS = {
    "key": "key",
    "name": "name",
    "description": "description",
    "trigger": "trigger_event",
    "trigger.event": "trigger_event",
    "trigger.condition": "trigger_condition",
    "trigger.event_fields": "event_fields",
    "reentry": "reentry_policy",
    "reentry.policy": "reentry_policy",
    "reentry.period": "reentry_period",
    "exit_events": "exit_events",
    "goal": "goal_event",
    "goal.event": "goal_event",
    "goal.within": "goal_within",
}
# Problem paths name fields with dots, as the API does: ``steps.2.next``, ``steps.1.branches.0.next``.
_STEP_PATH = re.compile(r"^steps\.(\d+)(?:\.([a-z_]+))?(?:\.\d+)?(?:\.(\w+))?")


def problems_place(
    problems: Sequence[DefinitionProblem],
    journey_form: forms.Form,
    step_forms: Sequence[forms.Form],
    *,
    built_trigger: bool = False,
) -> None:
    """Add each problem as an error of the field (or form) it is about (a trigger condition
    made only by the builder: on the builder's field)."""
    for problem in problems:
        path = problem.path
        match = _STEP_PATH.match(path)
        if match is not None and int(match[1]) < len(step_forms):
            form = step_forms[int(match[1])]
            name, inner = match[2], match[3]
            if name == "message":
                name = "message_status" if inner == "status" else "message_step"
            if name is not None and name in form.fields:
                form.add_error(name, problem.message)
            else:
                form.add_error(None, problem.message if name is None else f"{name}: {problem.message}")
            continue
        head = re.sub(r"\.\d+", "", path)
        field = _JOURNEY_FIELDS.get(head) or _JOURNEY_FIELDS.get(head.split(".")[0])
        if field == "trigger_condition" and built_trigger:
            field = "when_field"
        if field is not None:
            journey_form.add_error(field, problem.message)
        else:
            journey_form.add_error(None, str(problem))


@dataclass
class EditorResult:
    version: JourneyVersion | None
    definition: dict[str, Any] | None


def ordered_step_data(formset: forms.BaseFormSet[StepForm]) -> list[tuple[forms.Form, dict[str, Any]]]:
    """The kept step forms with their cleaned data, in the order the author set."""
    kept = [f for f in formset.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
    numbered = sorted(
        enumerate(kept), key=lambda item: (item[1].cleaned_data.get("ORDER") or 10**6 + item[0], item[0])
    )
    return [(form, form.cleaned_data) for _, form in numbered]


def editor_save(
    *,
    journey_form: JourneyForm,
    formset: forms.BaseFormSet[StepForm],
    user: User,
    journey: Journey | None,
    draft: JourneyVersion | None,
) -> EditorResult:
    """Validate the forms (as ``journeys push`` would) and save: a new journey and its first
    draft, a new draft of ``journey``, or ``draft`` edited. Problems become form errors and
    nothing is saved (``version`` None)."""
    steps = ordered_step_data(formset)
    definition, journey_errors, step_errors = definition_from_forms(
        journey_form.cleaned_data, [data for _, data in steps]
    )
    for name, message in journey_errors.items():
        journey_form.add_error(name, message)
    for (form, _), errors in zip(steps, step_errors, strict=True):
        for name, message in errors.items():
            form.add_error(name, message)
    if journey is not None and definition["key"] != journey.key:
        journey_form.add_error("key", f"A journey's key is fixed: this one is '{journey.key}'.")
    if journey is None and Journey.objects.filter(key=definition["key"]).exists():
        journey_form.add_error(
            "key", "There is already a journey with this key: open it and make a new draft."
        )
    if journey_form.errors or any(errors for errors in step_errors):
        return EditorResult(None, definition)
    built_trigger = not (journey_form.cleaned_data.get("trigger_condition") or "").strip()
    if problems := definition_check(definition):
        problems_place(problems, journey_form, [form for form, _ in steps], built_trigger=built_trigger)
        return EditorResult(None, definition)
    comment = journey_form.cleaned_data.get("comment", "")
    try:
        with transaction.atomic():  # a new journey and its first draft, or neither
            if draft is not None:
                journey_draft_edit(
                    version=draft, actor=Actor.user(user.pk), definition=definition, comment=comment
                )
                return EditorResult(draft, definition)
            if journey is None:
                journey = journey_create(
                    key=definition["key"],
                    name=definition["name"],
                    description=definition.get("description", ""),
                    actor=Actor.user(user.pk),
                )
            version = journey_draft_create(
                journey=journey, author=user, definition=definition, comment=comment
            )
    except InvalidDefinition as exc:  # something changed in between (a template removed)
        problems_place(exc.problems, journey_form, [form for form, _ in steps])
        return EditorResult(None, definition)
    except JourneyWorkflowError as exc:
        journey_form.add_error(None, str(exc))
        return EditorResult(None, definition)
    return EditorResult(version, definition)
