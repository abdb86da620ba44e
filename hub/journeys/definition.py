"""Checking a journey definition: its shape (the JSON schema) and then its meaning.

Each problem names where it is (``steps.2.next``, dotted like the API's field names) and what is wrong, in words for the
author; a definition with any problem is not saved.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError

from hub.journeys.conditions import ConditionScope, condition_check
from hub.journeys.schema import JOURNEY_SCHEMA
from templates_app.models import Template

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_VALIDATOR = Draft202012Validator(JOURNEY_SCHEMA)
NEXT_FIELDS = ("next", "on_blocked", "on_match", "on_timeout", "default")


@dataclass(frozen=True)
class DefinitionProblem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class InvalidDefinition(Exception):
    """A definition that cannot be saved; ``problems`` lists every reason."""

    def __init__(self, problems: Sequence[DefinitionProblem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


def duration(text: str) -> timedelta:
    """``30s``, ``15m``, ``2h``, ``3d`` as a timedelta (the schema has checked the form)."""
    return timedelta(seconds=int(text[:-1]) * _UNITS[text[-1]])


def _schema_path(error: SchemaError) -> str:
    path = ""
    for part in error.absolute_path:
        path += f".{part}" if path else str(part)
    return path


def _schema_problems(definition: Any) -> list[DefinitionProblem]:
    problems = []
    for error in sorted(_VALIDATOR.iter_errors(definition), key=lambda e: list(map(str, e.absolute_path))):
        # The step-kind dispatch reports the inner errors: keep the most specific one.
        leaf = error
        while leaf.context:
            leaf = min(leaf.context, key=lambda e: -len(e.absolute_path))
        message = leaf.message
        if leaf.validator == "additionalProperties":
            message = f"unknown field: {message.split('(')[-1].rstrip(')')}"
        problems.append(DefinitionProblem(_schema_path(leaf), message))
    return list(dict.fromkeys(problems))


def _steps(definition: Mapping[str, Any]) -> Iterator[tuple[int, Mapping[str, Any]]]:
    yield from enumerate(definition["steps"])


def _meaning_problems(definition: Mapping[str, Any]) -> list[DefinitionProblem]:
    problems: list[DefinitionProblem] = []
    ids = [step["id"] for step in definition["steps"]]
    kinds = {step["id"]: step["type"] for step in definition["steps"]}
    for index, step_id in enumerate(ids):
        if step_id in ids[:index]:
            problems.append(
                DefinitionProblem(f"steps.{index}.id", f"'{step_id}' is used by an earlier step.")
            )
    trigger = definition["trigger"]
    event_fields = trigger.get("event_fields")

    def check(path: str, source: str, scope: ConditionScope) -> None:
        problems.extend(DefinitionProblem(path, m) for m in condition_check(source, scope=scope))

    if "condition" in trigger:
        check(
            "trigger.condition",
            trigger["condition"],
            ConditionScope(event_fields=event_fields, names=frozenset({"contact", "event"})),
        )
    reentry = definition.get("reentry", {"policy": "once"})
    if reentry["policy"] == "once_per" and "period" not in reentry:
        problems.append(DefinitionProblem("reentry.period", "once_per needs a period, e.g. 7d."))
    if reentry["policy"] != "once_per" and "period" in reentry:
        problems.append(DefinitionProblem("reentry.period", "a period is only for the once_per policy."))
    for index, exit_event in enumerate(definition.get("exit_events", [])):
        if "condition" in exit_event:
            check(f"exit_events.{index}.condition", exit_event["condition"], ConditionScope(step_ids=ids))
    templates = {step["template"] for step in definition["steps"] if "template" in step}
    known = set(Template.objects.filter(key__in=templates).values_list("key", flat=True))
    for index, step in _steps(definition):
        path = f"steps.{index}"
        for name in NEXT_FIELDS:
            if name in step and step[name] not in kinds:
                problems.append(DefinitionProblem(f"{path}.{name}", f"there is no step '{step[name]}'."))
        for b_index, branch in enumerate(step.get("branches", [])):
            if branch["next"] not in kinds:
                problems.append(
                    DefinitionProblem(
                        f"{path}.branches.{b_index}.next", f"there is no step '{branch['next']}'."
                    )
                )
            check(
                f"{path}.branches.{b_index}.condition",
                branch["condition"],
                ConditionScope(step_ids=ids, event_fields=event_fields),
            )
        if "template" in step and step["template"] not in known:
            problems.append(
                DefinitionProblem(f"{path}.template", f"there is no template '{step['template']}'.")
            )
        if step["type"] == "wait" and ("duration" in step) == ("until" in step):
            problems.append(
                DefinitionProblem(path, "a wait has either a duration or an until time, not both or neither.")
            )
        if step["type"] == "wait_for":
            if ("event" in step) == ("message" in step):
                problems.append(
                    DefinitionProblem(path, "wait_for waits for either an event or a message status.")
                )
            if "condition" in step:
                if "event" not in step:
                    problems.append(
                        DefinitionProblem(f"{path}.condition", "a condition is only for waiting on an event.")
                    )
                check(f"{path}.condition", step["condition"], ConditionScope(step_ids=ids))
            target = step.get("message", {}).get("step")
            if target is not None and kinds.get(target) not in ("send", "digest"):
                problems.append(
                    DefinitionProblem(f"{path}.message.step", f"'{target}' is not a send or digest step.")
                )
            elif target is not None and ids.index(target) >= index:
                problems.append(
                    DefinitionProblem(f"{path}.message.step", f"'{target}' does not come before this step.")
                )
    return problems


def definition_check(definition: Any) -> list[DefinitionProblem]:
    """Every problem with ``definition`` (empty: it may be saved)."""
    problems = _schema_problems(definition)
    if problems:
        return problems
    return _meaning_problems(definition)


def definition_validate(definition: Any) -> Mapping[str, Any]:
    """``definition`` if it may be saved; raises InvalidDefinition otherwise."""
    if problems := definition_check(definition):
        raise InvalidDefinition(problems)
    return definition  # type: ignore[no-any-return]
