"""Notify's ``personalisation`` as our typed template data.

Notify matches placeholders ignoring case, spaces, underscores and dashes (``((First name))``
takes ``first_name``); its clients send most values as strings. Here each key is matched to a
declared or used variable the same way, and strings are read as the variable's type where it
is a number or yes/no."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from templates_app.rendering.variables import VariableSpec

# Filled by the hub itself (SPEC §2), never by the caller.
RESERVED = frozenset({"unsubscribe_url"})


def insensitive_key(name: str) -> str:
    return "".join(c for c in name.lower() if c not in " _-")


def _typed(spec: VariableSpec | None, value: Any) -> Any:
    if spec is None or not isinstance(value, str):
        return value
    if spec.type == "number":
        try:
            number = json.loads(value)
        except ValueError:
            return value
        return number if isinstance(number, int | float) and not isinstance(number, bool) else value
    if spec.type == "boolean":
        return {"true": True, "yes": True, "false": False, "no": False}.get(value.strip().lower(), value)
    return value


def personalisation_as_data(
    personalisation: Mapping[str, Any], *, specs: Iterable[VariableSpec], used: Iterable[str]
) -> tuple[dict[str, Any], list[str]]:
    """The data for our template, and the names of required variables the caller did not give
    (in Notify's words, the missing personalisation). Keys matching no variable are passed on
    as they are (Notify ignores extra personalisation)."""
    by_key = {insensitive_key(k): v for k, v in personalisation.items()}
    names = {s.name: s for s in specs if s.name not in RESERVED}
    used = set(used) - RESERVED
    wanted = {insensitive_key(n) for n in {*names, *used}}
    data = {k: v for k, v in personalisation.items() if insensitive_key(k) not in wanted}
    missing: list[str] = []
    for name in sorted({*names, *used}):
        spec = names.get(name)
        key = insensitive_key(name)
        if key in by_key and by_key[key] is not None:
            data[name] = _typed(spec, by_key[key])
        elif spec is None or spec.required:
            missing.append(name)
    return data, missing
