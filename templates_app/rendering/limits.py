"""The limits template code renders within, and the checks that enforce them while it runs
(``templates_app.rendering.sandbox`` calls them from its hooks).

Sizes: no string or list a template builds may exceed ``MAX_OUTPUT``; a check runs before an
operation whose result size an argument sets (widths, joins, replacements) and at once after
one whose growth is bounded by a small factor (``+``, escaping). Steps and time: each loop
iteration, call and filter is a step, ``MAX_STEPS`` and ``MAX_SECONDS`` per render.
"""

from __future__ import annotations

import contextvars
import re
import string
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from jinja2.exceptions import SecurityError

MAX_REPEAT = 10_000
MAX_RANGE = 1_000
MAX_OUTPUT = 500_000
MAX_STEPS = 100_000
MAX_SECONDS = 2.0
MAX_INT_BITS = 4096

# printf conversions: the width and precision may be numbers or * (taken from the arguments).
_PRINTF = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[a-zA-Z%]")


@dataclass
class _Budget:
    deadline: float = field(default_factory=lambda: time.monotonic() + MAX_SECONDS)
    steps: int = 0


_budget: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("template_budget", default=None)


@contextmanager
def render_limits() -> Iterator[None]:
    """Steps and time for one render; nested uses share the outer render's budget."""
    if _budget.get() is not None:
        yield
        return
    token = _budget.set(_Budget())
    try:
        yield
    finally:
        _budget.reset(token)


def step() -> None:
    budget = _budget.get()
    if budget is None:
        return
    budget.steps += 1
    if budget.steps > MAX_STEPS:
        raise SecurityError(f"the template took more than {MAX_STEPS:,} steps (loops, calls, filters)")
    if time.monotonic() > budget.deadline:
        raise SecurityError(f"the template took longer than {MAX_SECONDS:g} s to render")


def text_size(value: Any, limit: int) -> int:
    """About how long ``str(value)`` is, counting no further than just past ``limit``."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, Mapping):
        value = [item for pair in value.items() for item in pair]
    if isinstance(value, list | tuple | set | frozenset):
        total = 2
        for item in value:
            total += text_size(item, limit - total) + 2
            if total > limit:
                break
        return total
    return 32  # numbers, dates, Undefined: short


def check_text(value: Any) -> Any:
    if text_size(value, MAX_OUTPUT) > MAX_OUTPUT:
        raise SecurityError(f"the template would make text longer than {MAX_OUTPUT:,} characters")
    return value


def check_built(value: Any) -> Any:
    """What an operation built: within the size limits (growth was bounded by a small factor)."""
    if isinstance(value, str | list | tuple) and len(value) > MAX_OUTPUT:
        raise SecurityError(f"the template would make a value longer than {MAX_OUTPUT:,}")
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise SecurityError(f"the template would make a number larger than {MAX_INT_BITS:,} bits")
    return value


def check_width(number: Any, what: str) -> None:
    if isinstance(number, int) and number > MAX_OUTPUT:
        raise SecurityError(f"{what} {number:,} is above the limit of {MAX_OUTPUT:,}")


def check_format_spec(fmt: str) -> None:
    """``str.format`` fields: no width or precision above the limit, no nested fields."""
    for _literal, field_name, spec, _conversion in string.Formatter().parse(fmt):
        if field_name is None or not spec:
            continue
        if "{" in spec:
            raise SecurityError("nested format fields are not allowed")
        for number in re.findall(r"\d+", spec):
            check_width(int(number), "a format width or precision of")


def check_printf(fmt: str, args: Any) -> None:
    for width, precision in _PRINTF.findall(fmt):
        if "*" in (width, precision):
            raise SecurityError("* widths and precisions are not allowed")
        for number in (width, precision):
            check_width(int(number or 0), "a format width or precision of")
    check_text(args)


def joined(sep: str, items: Iterable[Any]) -> list[Any]:
    """The items of a join, refused as soon as the joined text would be too long."""
    kept: list[Any] = []
    size = 0
    for item in items:
        size += text_size(item, MAX_OUTPUT) + len(sep)
        if size > MAX_OUTPUT:
            raise SecurityError(f"join would make more than {MAX_OUTPUT:,} characters")
        kept.append(item)
    return kept


def check_str_method(text: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    first = args[0] if args else next(iter(kwargs.values()), None)
    if name in ("ljust", "rjust", "center", "zfill"):
        check_width(first, f"{name}() to")
    elif name == "expandtabs":
        tabsize = 8 if first is None else first
        if isinstance(tabsize, int) and len(text) + text.count("\t") * tabsize > MAX_OUTPUT:
            raise SecurityError(f"expandtabs would make more than {MAX_OUTPUT:,} characters")
    elif name == "replace" and len(args) >= 2:
        old, new = str(args[0]), str(args[1])
        grows = (len(new) - len(old)) * (text.count(old) if old else len(text) + 1)
        if len(text) + grows > MAX_OUTPUT:
            raise SecurityError(f"replace would make more than {MAX_OUTPUT:,} characters")
    elif name in ("translate", "maketrans"):
        raise SecurityError(f"str.{name} is not allowed in templates")
