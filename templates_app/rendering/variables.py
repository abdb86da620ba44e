"""Declared variables: checking a send's data against them, and typed, locale-aware values.

A value of a declared type is wrapped so that ``{{ delivery_date }}`` prints in the message's
locale (``1 mai 2026`` in a French variant), while filters (``|date('short')``, ``|money``)
give marketers control over the format.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal
from markupsafe import escape

TYPES = ("string", "number", "date", "datetime", "money", "url", "boolean")


@dataclass(frozen=True)
class VariableSpec:
    """What a version declares about one variable (detached from the database row)."""

    name: str
    type: str = "string"
    required: bool = True
    example: str = ""


@dataclass(frozen=True)
class DataProblem:
    """One thing wrong with a send's data, naming the variable."""

    name: str
    message: str

    @property
    def field(self) -> str:
        return f"data.{self.name}"


def babel_locale(tag: str) -> Locale:
    """The Babel locale for a BCP 47 tag (``fr-CA``), falling back to its language, then English."""
    for candidate in (tag, tag.split("-")[0]):
        try:
            return Locale.parse(candidate.replace("_", "-"), sep="-")
        except (UnknownLocaleError, ValueError, TypeError):
            continue
    return Locale("en")


class Money:
    """An amount in a currency, printed the local way (``19,99 €`` in French)."""

    def __init__(self, amount: Decimal, currency: str, locale: Locale) -> None:
        self.amount = amount
        self.currency = currency
        self._locale = locale

    def __str__(self) -> str:
        return str(format_currency(self.amount, self.currency, locale=self._locale))

    def __html__(self) -> str:
        return str(escape(str(self)))


class LocalDate:
    """A date printed in the message's locale (medium format unless a filter says otherwise)."""

    def __init__(self, value: date, locale: Locale) -> None:
        self.value = value
        self._locale = locale

    def format(self, fmt: str = "medium") -> str:
        if isinstance(self.value, datetime):
            return str(format_datetime(self.value, fmt, locale=self._locale))
        return str(format_date(self.value, fmt, locale=self._locale))

    def __str__(self) -> str:
        return self.format()

    def __html__(self) -> str:
        return str(escape(str(self)))


class LocalNumber:
    def __init__(self, value: int | float | Decimal, locale: Locale) -> None:
        self.value = value
        self._locale = locale

    def __str__(self) -> str:
        return str(format_decimal(self.value, locale=self._locale))

    def __html__(self) -> str:
        return str(escape(str(self)))


def _parse_money(value: Any) -> tuple[Decimal, str] | None:
    """``{"amount": "19.99", "currency": "GBP"}`` or ``"19.99 GBP"``."""
    if isinstance(value, Mapping):
        amount, currency = value.get("amount"), value.get("currency")
    elif isinstance(value, str) and len(value.split()) == 2:
        amount, currency = value.split()
    else:
        return None
    if isinstance(amount, bool) or not isinstance(amount, (int, float, str)):
        return None
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha()):
        return None
    try:
        parsed = Decimal(str(amount))
    except InvalidOperation:
        return None
    return (parsed, currency.upper()) if parsed.is_finite() else None


def _parse_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    # A time without an offset is ambiguous for a recipient in another time zone: refuse it.
    return parsed if parsed.tzinfo is not None else None


def _parse_date(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) != 10:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _is_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in value


EXPECTED = {
    "string": "text",
    "number": "a number",
    "date": "a date as YYYY-MM-DD",
    "datetime": "a date and time in ISO 8601 with an offset, e.g. 2026-05-01T09:30:00+01:00",
    "money": 'an amount and currency, e.g. {"amount": "19.99", "currency": "GBP"}',
    "url": "an http(s) web address",
    "boolean": "true or false",
}


def value_problem(spec: VariableSpec, value: Any) -> str:
    """Why ``value`` is not a valid ``spec.type`` ('' when it is)."""
    kind = spec.type
    checks: dict[str, Callable[[Any], bool]] = {
        "string": lambda v: isinstance(v, str),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "date": lambda v: _parse_date(v) is not None,
        "datetime": lambda v: _parse_datetime(v) is not None,
        "money": lambda v: _parse_money(v) is not None,
        "url": _is_url,
        "boolean": lambda v: isinstance(v, bool),
    }
    check = checks.get(kind)
    ok = check(value) if check is not None else True
    return "" if ok else f"'{spec.name}' must be {EXPECTED.get(kind, kind)}."


# Filled by the hub itself at send time (SPEC §2), never by a caller or a CSV: a value sent
# for one is ignored, and no send is refused for lacking it.
RESERVED_VARIABLES = frozenset({"unsubscribe_url"})
# What a preview, the lint and a staff test send's data show in its place.
SAMPLE_RESERVED = {"unsubscribe_url": "https://switchboard.example/u/sample-link"}


def without_reserved(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` without the reserved names (the hub fills those)."""
    return {k: v for k, v in data.items() if k not in RESERVED_VARIABLES}


def data_problems(
    specs: Iterable[VariableSpec], data: Mapping[str, Any], *, used: Iterable[str] = ()
) -> list[DataProblem]:
    """Every missing or mistyped variable; ``used`` adds names the content needs but nobody
    declared (older versions), which must at least be present. Reserved names
    (``unsubscribe_url``) are the hub's to fill, so they are never asked of the data."""
    problems: list[DataProblem] = []
    specs = [s for s in specs if s.name not in RESERVED_VARIABLES]
    declared = {s.name for s in specs} | RESERVED_VARIABLES
    for spec in specs:
        if spec.name not in data or data[spec.name] is None:
            if spec.required:
                problems.append(DataProblem(spec.name, f"'{spec.name}' is required ({spec.type})."))
            continue
        if message := value_problem(spec, data[spec.name]):
            problems.append(DataProblem(spec.name, message))
    for name in sorted(set(used) - declared):
        if name not in data:
            problems.append(DataProblem(name, f"'{name}' is required."))
    return problems


def example_value(spec: VariableSpec) -> Any:
    """The example as the JSON value a caller would send (``"true"`` → ``true``)."""
    raw = spec.example
    if spec.type == "number":
        try:
            number = json.loads(raw)
        except ValueError:
            return raw
        return number if isinstance(number, (int, float)) and not isinstance(number, bool) else raw
    if spec.type == "boolean":
        return {"true": True, "false": False, "yes": True, "no": False}.get(raw.strip().lower(), raw)
    if spec.type == "money" and (parsed := _parse_money(raw)):
        return {"amount": str(parsed[0]), "currency": parsed[1]}
    return raw


def example_data(specs: Iterable[VariableSpec]) -> dict[str, Any]:
    return {s.name: example_value(s) for s in specs if s.example != "" or s.type == "string"}


def typed_context(specs: Iterable[VariableSpec], data: Mapping[str, Any], locale: str) -> dict[str, Any]:
    """The data as the template sees it: dates, money and numbers formatted for ``locale``."""
    loc = babel_locale(locale)
    context = dict(data)
    for spec in specs:
        value = data.get(spec.name)
        if value is None:
            continue
        if spec.type == "date" and (d := _parse_date(value)):
            context[spec.name] = LocalDate(d, loc)
        elif spec.type == "datetime" and (dt := _parse_datetime(value)):
            context[spec.name] = LocalDate(dt, loc)
        elif spec.type == "money" and (m := _parse_money(value)):
            context[spec.name] = Money(m[0], m[1], loc)
        elif spec.type == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
            context[spec.name] = LocalNumber(value, loc)
    return context


def filter_date(value: Any, fmt: str = "medium") -> str:
    """``{{ when|date('long') }}``: Babel's short, medium, long, full, or a pattern."""
    return value.format(fmt) if isinstance(value, LocalDate) else str(value)
