"""Lint of a journey definition: what is allowed but probably wrong, for the author and the
reviewer to read before approving (a definition that is wrong is refused on save by
``hub.journeys.definition``; lint comes after it and only reads).

- a template that does not exist (gone since the draft was saved) or has no live version;
- an event name the hub has never received (and no other journey uses): a typo, likely;
- a step no run can reach;
- a marketing send on a channel no enabled consent rule covers;
- a wait that may take a run past the expiry of the offer a template mentions: a template
  variable of type date or datetime whose name says it expires (``offer_expires``,
  ``expiry_date``); the lint names the longest wait before the send so the author can check
  it against the event's value (``simulate`` checks the actual value).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from hub.compliance.models import RuleKind
from hub.compliance.rules import RuleSpec, rules_current
from hub.journeys.definition import duration
from hub.journeys.diagram import END, journey_edges
from hub.journeys.models import Event, JourneyVersion
from hub.journeys.summaries import timedelta_words
from templates_app.models import Category, Template, VariableType
from templates_app.rendering import version_channels

ERROR, WARNING = "error", "warning"
EXPIRY_WORDS = ("expir", "expires", "valid_until", "deadline")


@dataclass(frozen=True)
class LintFinding:
    severity: str
    code: str
    step: str  # the step's id, or "" for the journey as a whole
    message: str


def _reachable(definition: Mapping[str, Any]) -> set[str]:
    edges = journey_edges(definition)
    first = definition["steps"][0]["id"]
    seen, todo = {first}, [first]
    while todo:
        current = todo.pop()
        for edge in edges:
            if edge.source == current and edge.target != END and edge.target not in seen:
                seen.add(edge.target)
                todo.append(edge.target)
    return seen


def _wait_of(step: Mapping[str, Any]) -> timedelta:
    if step["type"] == "wait":
        return duration(step["duration"]) if "duration" in step else timedelta(days=1)
    if step["type"] == "wait_for":
        return duration(step["timeout"])
    if step["type"] == "digest":
        return duration(step["window"])
    return timedelta(0)


def longest_wait_before(definition: Mapping[str, Any]) -> dict[str, timedelta]:
    """The longest a run may have waited since its start when it enters each step (a wait
    until a time of day counts as up to a day; loops are followed once)."""
    by_id = {s["id"]: s for s in definition["steps"]}
    edges = journey_edges(definition)
    longest: dict[str, timedelta] = {definition["steps"][0]["id"]: timedelta(0)}
    for _ in range(len(by_id)):  # Bellman-Ford style: at most one pass per step
        changed = False
        for edge in edges:
            if edge.target == END or edge.source not in longest:
                continue
            candidate = longest[edge.source] + _wait_of(by_id[edge.source])
            if candidate > longest.get(edge.target, timedelta(-1)):
                longest[edge.target] = candidate
                changed = True
        if not changed:
            break
    return longest


def _consent_covers(rules: Sequence[RuleSpec], channel: str) -> bool:
    return any(
        r.kind == RuleKind.CONSENT_REQUIRED
        and r.category in ("", Category.MARKETING)
        and r.channel in ("", channel)
        for r in rules
    )


def _events_known(definition: Mapping[str, Any]) -> set[str]:
    names = {definition["trigger"]["event"]}
    names |= {e["event"] for e in definition.get("exit_events", [])}
    if "goal" in definition:
        names.add(definition["goal"]["event"])
    names |= {s["event"] for s in definition["steps"] if "event" in s}
    seen = set(Event.objects.filter(name__in=names).values_list("name", flat=True).distinct())
    others = JourneyVersion.objects.exclude(journey__key=definition["key"])
    seen |= set(others.filter(trigger_event__in=names).values_list("trigger_event", flat=True))
    seen |= set(others.filter(goal_event__in=names).values_list("goal_event", flat=True))
    return names - seen


def journey_lint(definition: Mapping[str, Any]) -> list[LintFinding]:
    """Every finding for a valid ``definition``, in step order (journey-wide ones first)."""
    findings: list[LintFinding] = []
    for name in sorted(_events_known(definition)):
        findings.append(
            LintFinding(
                WARNING,
                "unknown_event",
                "",
                f"No event named `{name}` has been received yet and no other journey uses it: check the spelling.",
            )
        )
    reachable = _reachable(definition)
    keys = {s["template"] for s in definition["steps"] if "template" in s}
    templates = {t.key: t for t in Template.objects.filter(key__in=keys).select_related("live_version")}
    rules = list(rules_current())
    waited = longest_wait_before(definition)
    for step in definition["steps"]:
        step_id = step["id"]
        if step_id not in reachable:
            findings.append(
                LintFinding(
                    WARNING, "unreachable", step_id, f"No run can reach step {step_id}: no step leads to it."
                )
            )
        if "template" not in step:
            continue
        template = templates.get(step["template"])
        if template is None:
            findings.append(
                LintFinding(ERROR, "unknown_template", step_id, f"There is no template `{step['template']}`.")
            )
            continue
        live = template.live_version
        if live is None:
            findings.append(
                LintFinding(
                    ERROR,
                    "template_not_live",
                    step_id,
                    f"Template `{template.key}` has no approved version: this step would fail.",
                )
            )
            continue
        channels = list(step.get("channels", [])) or version_channels(live)
        if template.category == Category.MARKETING:
            uncovered = [c for c in channels if not _consent_covers(rules, c)]
            if uncovered:
                findings.append(
                    LintFinding(
                        WARNING,
                        "no_consent_check",
                        step_id,
                        f"Marketing send by {', '.join(uncovered)} with no consent rule for it: it goes to "
                        "contacts who never agreed to marketing. Ask compliance for a consent_required rule.",
                    )
                )
        expiring = [
            v.name
            for v in live.variables.all()
            if v.type in (VariableType.DATE, VariableType.DATETIME)
            and any(word in v.name.lower() for word in EXPIRY_WORDS)
        ]
        delay = waited.get(step_id, timedelta(0))
        if expiring and delay > timedelta(0):
            findings.append(
                LintFinding(
                    WARNING,
                    "wait_past_expiry",
                    step_id,
                    f"This send can come {timedelta_words(delay)} after the event"
                    f" while template `{template.key}` mentions `{expiring[0]}`: the offer may have expired by "
                    "then. Shorten the waits or check the value (simulate shows it).",
                )
            )
    return findings
