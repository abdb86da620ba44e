"""Journeys in plain words: one sentence per step, and the whole journey as a short story.

For the admin editor and version page, so a marketer or compliance officer reads what a
journey does without reading its JSON ("Wait 2 days, then if the email was not opened, send
SMS `cart.reminder`"). Pure functions of a (valid) definition: no database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

_UNIT_WORDS = {"s": "second", "m": "minute", "h": "hour", "d": "day"}
CHANNEL_WORDS = {"sms": "SMS", "email": "email", "push": "push"}
# A message status as the end of "was ...".
_STATUS_WORDS = {
    "sent": "sent",
    "delivered": "delivered",
    "undelivered": "undelivered",
    "bounced": "bounced",
    "failed": "failed",
    "opened": "opened",
    "clicked": "clicked",
}
_OPERATOR_WORDS = {
    "==": "is",
    "!=": "is not",
    ">=": "is at least",
    "<=": "is at most",
    ">": "is over",
    "<": "is under",
}
_COMPARISON = re.compile(
    r"^\s*([A-Za-z_][\w.]*)\s*(==|!=|>=|<=|>|<)\s*('[^']*'|\"[^\"]*\"|-?[\d.]+|true|false)\s*$"
)


def duration_words(text: str) -> str:
    """``2d`` → "2 days", ``1h`` → "1 hour"."""
    number, unit = int(text[:-1]), _UNIT_WORDS[text[-1]]
    return f"{number} {unit}{'' if number == 1 else 's'}"


def timedelta_words(value: timedelta) -> str:
    """A timedelta in the largest whole unit: 2 days, 90 minutes, 45 seconds."""
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return duration_words(f"{seconds // size}{unit}")
    return duration_words(f"{max(seconds, 1)}s")


def _or(words: Sequence[str], joiner: str = "or") -> str:
    items = list(words)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {joiner} {items[-1]}"


def _channels(step: Mapping[str, Any]) -> str:
    channels = [CHANNEL_WORDS[c] for c in step.get("channels", [])]
    if not channels:
        return "a message"
    return _or(channels, "and" if step.get("routing") == "all" else "or")


def _field_words(path: str) -> str:
    parts = path.split(".")
    if parts[:2] == ["event", "data"] and len(parts) > 2:
        return f"the event's {'.'.join(parts[2:])}"
    if parts[:2] == ["contact", "attributes"] and len(parts) > 2:
        return f"the contact's {'.'.join(parts[2:])}"
    if parts[0] == "contact" and len(parts) == 2:
        return f"the contact's {parts[1]}"
    if parts[0] == "steps" and len(parts) == 3:
        return f"step {parts[1]}'s {parts[2]}"
    return path


def condition_words(source: str) -> str:
    """A CEL condition in words where it is a plain comparison (or several joined by && and
    ||); otherwise the expression itself, quoted."""
    pieces = re.split(r"\s*(&&|\|\|)\s*", source.strip())
    words: list[str] = []
    for piece in pieces:
        if piece in ("&&", "||"):
            words.append("and" if piece == "&&" else "or")
            continue
        match = _COMPARISON.match(piece)
        if match is None:
            return f"`{source.strip()}`"
        left, operator, right = match.groups()
        value = right.strip("'\"")
        words.append(f"{_field_words(left)} {_OPERATOR_WORDS[operator]} {value}")
    return " ".join(words)


def _target(definition: Mapping[str, Any], step_id: str | None) -> str:
    if step_id is None:
        return "the end"
    return f"step {step_id}"


def following(definition: Mapping[str, Any], step_id: str) -> str | None:
    """The id of the step after ``step_id`` in order (None after the last)."""
    ids = [s["id"] for s in definition["steps"]]
    index = ids.index(step_id)
    return ids[index + 1] if index + 1 < len(ids) else None


def _go(definition: Mapping[str, Any], step: Mapping[str, Any], field: str = "") -> str | None:
    return step.get(field) or step.get("next") or following(definition, step["id"])


def _kind_of(definition: Mapping[str, Any], step_id: str) -> Mapping[str, Any] | None:
    return next((s for s in definition["steps"] if s["id"] == step_id), None)


def _message_words(definition: Mapping[str, Any], step_id: str) -> str:
    target = _kind_of(definition, step_id)
    if target is None:
        return f"the message of step {step_id}"
    return f"the {_channels(target)} (step {step_id})"


def step_summary(definition: Mapping[str, Any], step: Mapping[str, Any]) -> str:
    """One sentence saying what ``step`` does and where the run goes after it."""
    kind = step["type"]
    after = _go(definition, step)
    then = "" if after == following(definition, step["id"]) else f", then go to {_target(definition, after)}"
    if kind == "send":
        text = f"Send {_channels(step)} `{step['template']}`"
        if step.get("routing") == "all":
            text += " on every channel"
        if "on_blocked" in step:
            text += f"; if compliance blocks it, go to step {step['on_blocked']}"
        return text + then + "."
    if kind == "wait":
        if "duration" in step:
            return f"Wait {duration_words(step['duration'])}{then}."
        return f"Wait until {step['until']} in the contact's time zone{then}."
    if kind == "wait_for":
        timeout = duration_words(step["timeout"])
        on_match = _target(definition, _go(definition, step, "on_match"))
        on_timeout = _target(definition, _go(definition, step, "on_timeout"))
        if "message" in step:
            statuses = _or([_STATUS_WORDS[s] for s in step["message"]["status"]])
            what = _message_words(definition, step["message"]["step"])
            return (
                f"Wait up to {timeout} for {what} to be {statuses}: if it was, go to {on_match}; "
                f"if it was not {statuses}, go to {on_timeout}."
            )
        condition = f" where {condition_words(step['condition'])}" if "condition" in step else ""
        return (
            f"Wait up to {timeout} for the event `{step['event']}`{condition}: if it comes, go to "
            f"{on_match}; if not, go to {on_timeout}."
        )
    if kind == "branch":
        parts = [
            f"if {condition_words(b['condition'])}"
            + (f" ({b['label']})" if b.get("label") else "")
            + f", go to step {b['next']}"
            for b in step["branches"]
        ]
        otherwise = _target(definition, _go(definition, step, "default"))
        text = f"{'; '.join(parts)}; otherwise go to {otherwise}."
        return text[0].upper() + text[1:]
    if kind == "digest":
        key = f" per {step['key']}" if "key" in step else ""
        early = f" (or as soon as {step['max_events']} have come)" if "max_events" in step else ""
        return (
            f"Gather the `{step['event']}` events{key} for {duration_words(step['window'])}{early}, "
            f"then send them together by {_channels(step)} `{step['template']}`{then}."
        )
    return "End the journey here."


def steps_summaries(definition: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(step id, sentence)`` for every step, in order."""
    return [(step["id"], step_summary(definition, step)) for step in definition["steps"]]


def _clause(definition: Mapping[str, Any], step: Mapping[str, Any]) -> str:
    """A step as a clause of the story (lower-case, no full stop)."""
    kind = step["type"]
    if kind == "wait_for" and "message" in step:
        statuses = _or([_STATUS_WORDS[s] for s in step["message"]["status"]])
        target = _kind_of(definition, step["message"]["step"])
        what = f"the {_channels(target)}" if target else "the message"
        return f"if {what} was not {statuses} within {duration_words(step['timeout'])}"
    if kind == "wait_for":
        return f"if `{step['event']}` did not come within {duration_words(step['timeout'])}"
    text = step_summary(definition, step).rstrip(".")
    return text[0].lower() + text[1:]


def journey_story(definition: Mapping[str, Any]) -> str:
    """The journey in one paragraph: the trigger, then its steps in order joined by "then"."""
    trigger = definition["trigger"]
    opening = f"When `{trigger['event']}` happens"
    if "condition" in trigger:
        opening += f" and {condition_words(trigger['condition'])}"
    clauses = [_clause(definition, step) for step in definition["steps"]]
    story = f"{opening}: {', then '.join(clauses)}."
    story = story.replace("then if", "then, if")
    if definition.get("exit_events"):
        names = _or(["`" + e["event"] + "`" for e in definition["exit_events"]])
        story += f" It stops as soon as {names} happens."
    if "goal" in definition:
        within = (
            f" within {duration_words(definition['goal']['within'])}"
            if "within" in definition["goal"]
            else ""
        )
        story += f" It succeeds when `{definition['goal']['event']}` happens{within}."
    return story
