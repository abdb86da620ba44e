"""The JSON schema of a journey definition (what ``journeys push`` reads and export writes).

The one description of the format: definitions are checked against it before their meaning
is (see ``hub.journeys.definition``), and docs/journeys.md prints it.
"""

from __future__ import annotations

from typing import Any

ID = {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,62}$"}
EVENT_NAME = {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,100}$"}
DURATION = {
    "type": "string",
    "pattern": "^[1-9][0-9]{0,5}[smhd]$",
    "description": "A number and a unit: 30s, 15m, 2h, 3d.",
}
CONDITION = {"type": "string", "minLength": 1, "maxLength": 2000, "description": "A CEL expression."}
NEXT = {**ID, "description": "The id of the step to go to."}
CHANNELS = {
    "type": "array",
    "items": {"enum": ["sms", "email", "push"]},
    "uniqueItems": True,
    "minItems": 1,
}
SEND_FIELDS: dict[str, Any] = {
    "template": {"type": "string", "minLength": 1, "maxLength": 100},
    "channels": CHANNELS,
    "routing": {"enum": ["first", "all"]},
    "data": {"type": "object", "description": "Template data; added to (and overriding) the event's data."},
}

_STEP_COMMON: dict[str, Any] = {"id": ID, "next": NEXT, "title": {"type": "string", "maxLength": 200}}

# What a ``wait_for`` step may wait for a message to reach: statuses, or engagement.
WAITABLE_STATUSES = ("sent", "delivered", "undelivered", "bounced", "failed", "opened", "clicked")


def _step(kind: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"type": {"const": kind}, **_STEP_COMMON, **properties},
        "required": ["id", "type", *required],
        "additionalProperties": False,
    }


STEP_SCHEMAS: dict[str, dict[str, Any]] = {
    "send": _step("send", {**SEND_FIELDS, "on_blocked": NEXT}, ["template"]),
    "wait": _step(
        "wait",
        {
            "duration": DURATION,
            "until": {
                "type": "string",
                "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$",
                "description": "A local time of day (HH:MM) in the contact's time zone.",
            },
        },
        [],
    ),
    "wait_for": _step(
        "wait_for",
        {
            "event": EVENT_NAME,
            "condition": CONDITION,
            "message": {
                "type": "object",
                "properties": {
                    "step": ID,
                    "status": {
                        "type": "array",
                        "items": {"enum": list(WAITABLE_STATUSES)},
                        "minItems": 1,
                        "uniqueItems": True,
                    },
                },
                "required": ["step", "status"],
                "additionalProperties": False,
            },
            "timeout": DURATION,
            "on_match": NEXT,
            "on_timeout": NEXT,
        },
        ["timeout"],
    ),
    "branch": _step(
        "branch",
        {
            "branches": {
                "type": "array",
                "minItems": 1,
                "maxItems": 20,
                "items": {
                    "type": "object",
                    "properties": {"condition": CONDITION, "next": NEXT, "label": {"type": "string"}},
                    "required": ["condition", "next"],
                    "additionalProperties": False,
                },
            },
            "default": NEXT,
        },
        ["branches"],
    ),
    "digest": _step(
        "digest",
        {
            **SEND_FIELDS,
            "event": EVENT_NAME,
            "window": DURATION,
            "max_events": {"type": "integer", "minimum": 1, "maximum": 1000},
            "key": {
                "type": "string",
                "pattern": "^[A-Za-z_][A-Za-z0-9_]{0,63}$",
                "description": "A field of the event's data: events are gathered per value of it.",
            },
            "on_blocked": NEXT,
        },
        ["event", "window", "template"],
    ),
    "exit": _step("exit", {}, []),
}

CEL_TYPES = ["string", "int", "double", "bool", "list", "map"]

JOURNEY_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Switchboard journey definition",
    "type": "object",
    "properties": {
        "key": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_.-]{0,99}$"},
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "description": {"type": "string", "maxLength": 2000},
        "trigger": {
            "type": "object",
            "properties": {
                "event": EVENT_NAME,
                "condition": CONDITION,
                "event_fields": {
                    "type": "object",
                    "description": "The trigger event's data fields and their CEL types; when given, "
                    "conditions may use no others.",
                    "additionalProperties": {"enum": CEL_TYPES},
                    "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]{0,63}$"},
                },
            },
            "required": ["event"],
            "additionalProperties": False,
        },
        "reentry": {
            "type": "object",
            "properties": {"policy": {"enum": ["once", "once_per", "always"]}, "period": DURATION},
            "required": ["policy"],
            "additionalProperties": False,
        },
        "exit_events": {
            "type": "array",
            "maxItems": 20,
            "items": {
                "type": "object",
                "properties": {"event": EVENT_NAME, "condition": CONDITION},
                "required": ["event"],
                "additionalProperties": False,
            },
        },
        "goal": {
            "type": "object",
            "properties": {"event": EVENT_NAME, "within": DURATION},
            "required": ["event"],
            "additionalProperties": False,
        },
        "steps": {
            "type": "array",
            "minItems": 1,
            "maxItems": 100,
            "items": {
                "type": "object",
                "properties": {"type": {"enum": list(STEP_SCHEMAS)}},
                "required": ["type"],
                "allOf": [
                    {"if": {"properties": {"type": {"const": kind}}}, "then": schema}
                    for kind, schema in STEP_SCHEMAS.items()
                ],
            },
        },
    },
    "required": ["key", "name", "trigger", "steps"],
    "additionalProperties": False,
}
