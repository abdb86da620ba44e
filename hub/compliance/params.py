"""A rule's parameters as form fields and as words, one set per rule kind.

The engine reads a version's ``params`` as stored (``hub.compliance.rules.rule_spec_parse``); this
module only translates between that shape and what a person edits or reads: time pickers for
quiet hours, a count and a period for a frequency cap, a country list, date-time pickers (in the
viewer's zone, stored in UTC) for blackout periods, labelled items for required content. Errors
land on the field that caused them.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime, time
from functools import lru_cache
from typing import Any

import phonenumbers
from babel import Locale
from django import forms
from django.conf import settings
from django.utils import timezone

from hub.compliance.models import RuleKind

PARAM_KINDS = (
    RuleKind.QUIET_HOURS,
    RuleKind.FREQUENCY_CAP,
    RuleKind.COUNTRY_ALLOW,
    RuleKind.BLACKOUT,
    RuleKind.REQUIRED_CONTENT,
)
KIND_TITLES: Mapping[str, str] = {
    RuleKind.QUIET_HOURS: "Quiet hours: when messages may go out",
    RuleKind.FREQUENCY_CAP: "Frequency cap: how many messages per period",
    RuleKind.COUNTRY_ALLOW: "Country allow-list: where messages may go",
    RuleKind.BLACKOUT: "Blackout: periods when nothing goes out",
    RuleKind.REQUIRED_CONTENT: "Required content: what every template must carry",
}
UNITS: Mapping[str, float] = {"minutes": 1 / 60, "hours": 1, "days": 24}
CONTENT_FIELDS = (
    ("subject", "Subject"),
    ("html", "HTML body"),
    ("text", "Text body"),
    ("title", "Push title"),
)
_DEFAULT_CONTENT_FIELDS = ("subject", "html", "text", "title")
_TIME_FORMAT = "%H:%M"
_LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
_ROW = re.compile(r"^(blackout_start|required_label)_(\d+)$")


@lru_cache(maxsize=1)
def country_choices() -> tuple[tuple[str, str], ...]:
    """Every region a phone number can belong to (the engine takes a recipient's country from
    the number), named in English, sorted by name."""
    names = Locale("en").territories
    return tuple(
        sorted(
            ((code, f"{names.get(code, code)} ({code})") for code in phonenumbers.SUPPORTED_REGIONS),
            key=lambda choice: choice[1],
        )
    )


def country_name(code: str) -> str:
    return dict(country_choices()).get(code, code)


class CountriesField(forms.MultipleChoiceField):
    """Countries as a list to choose from; stored as ISO codes. An empty post means none."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.SelectMultiple(attrs={"size": 8}))
        super().__init__(choices=country_choices, **kwargs)

    def to_python(self, value: Any) -> list[str]:
        return sorted({str(v).upper() for v in super().to_python(value) if v})


def _time_field(label: str, help_text: str = "") -> forms.TimeField:
    return forms.TimeField(
        label=label,
        required=False,
        input_formats=[_TIME_FORMAT, "%H:%M:%S"],
        widget=forms.TimeInput(attrs={"type": "time"}, format=_TIME_FORMAT),
        error_messages={"invalid": "This must be a time of day like 08:00."},
        help_text=help_text,
    )


def _local_field(label: str, zone: str) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=_LOCAL_FORMAT),
        error_messages={"invalid": "This must be a date and time, e.g. 2026-12-24 00:00."},
        help_text=f"In your time zone, {zone}; stored in UTC.",
    )


def kind_rows(kind: str, params: Mapping[str, Any], data: Mapping[str, Any] | None) -> int:
    """How many period/item rows the form shows: the posted ones (so an error page shows
    everything typed), else the stored ones; plus one empty row to add another."""
    if data is not None:
        prefix = "blackout_start" if kind == RuleKind.BLACKOUT else "required_label"
        posted = [int(m.group(2)) for key in data if (m := _ROW.match(key)) and m.group(1) == prefix]
        if posted:
            return max(posted) + 1
    stored = params.get("periods" if kind == RuleKind.BLACKOUT else "required")
    return (len(stored) if isinstance(stored, list) else 0) + 1


def kind_fields(kind: str, rows: int = 1) -> dict[str, forms.Field]:
    """The form fields of one kind's parameters, in display order (none for the kinds that
    have no parameters)."""
    fields: dict[str, forms.Field] = {}
    if kind == RuleKind.QUIET_HOURS:
        fields["quiet_start"] = _time_field("Send from")
        fields["quiet_end"] = _time_field(
            "Until",
            "Messages outside this window wait until it opens. A window may cross midnight "
            "(22:00 until 06:00). Times are each recipient's local time: the contact's own time "
            "zone, else every zone of their phone number's country, else the hub's default "
            f"({settings.HUB_DEFAULT_TIMEZONE}).",
        )
    elif kind == RuleKind.FREQUENCY_CAP:
        fields["cap_limit"] = forms.IntegerField(
            label="At most",
            required=False,
            min_value=1,
            help_text="Messages per contact, channel and category.",
        )
        fields["cap_period"] = forms.IntegerField(label="Per", required=False, min_value=1)
        fields["cap_unit"] = forms.ChoiceField(
            label="Period unit", choices=[(u, u) for u in UNITS], initial="days", required=False
        )
    elif kind == RuleKind.COUNTRY_ALLOW:
        fields["allowed_countries"] = CountriesField(
            label="Allowed countries",
            required=False,
            help_text="The recipient's country is their phone number's. Hold Ctrl (⌘ on a Mac) to choose several.",
        )
    elif kind == RuleKind.BLACKOUT:
        zone = timezone.get_current_timezone_name()
        for i in range(rows):
            fields[f"blackout_start_{i}"] = _local_field(f"Period {i + 1} starts", zone)
            fields[f"blackout_end_{i}"] = _local_field(f"Period {i + 1} ends", zone)
    elif kind == RuleKind.REQUIRED_CONTENT:
        for i in range(rows):
            fields[f"required_label_{i}"] = forms.CharField(
                label=f"Item {i + 1}: what must be there",
                required=False,
                max_length=100,
                help_text="In words, e.g. postal address. Leave the whole item empty to remove it.",
            )
            fields[f"required_any_of_{i}"] = forms.CharField(
                label=f"Item {i + 1}: any of these texts",
                required=False,
                widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
                help_text="One per line; the content passes if it contains one of them.",
            )
            fields[f"required_patterns_{i}"] = forms.CharField(
                label=f"Item {i + 1}: or text matching",
                required=False,
                widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
                help_text="Regular expressions, one per line, case-insensitive (optional).",
            )
        fields["required_fields"] = forms.MultipleChoiceField(
            label="Look in",
            required=False,
            choices=CONTENT_FIELDS,
            initial=list(_DEFAULT_CONTENT_FIELDS),
            widget=forms.CheckboxSelectMultiple,
        )
    return fields


def _lines(values: Any) -> str:
    return "\n".join(str(v) for v in values or ())


def kind_initial(kind: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The stored parameters as initial values of ``kind_fields``."""
    initial: dict[str, Any] = {}
    if kind == RuleKind.QUIET_HOURS:
        for name, key in (("quiet_start", "start"), ("quiet_end", "end")):
            with contextlib.suppress(ValueError):
                initial[name] = time.fromisoformat(str(params.get(key)))
    elif kind == RuleKind.FREQUENCY_CAP:
        initial["cap_limit"] = params.get("limit")
        hours = params.get("window_hours")
        if isinstance(hours, (int, float)) and hours > 0:
            minutes = round(hours * 60)
            unit = "days" if minutes % (24 * 60) == 0 else "hours" if minutes % 60 == 0 else "minutes"
            initial.update(cap_period=round(minutes / (UNITS[unit] * 60)), cap_unit=unit)
    elif kind == RuleKind.COUNTRY_ALLOW:
        initial["allowed_countries"] = [str(c).upper() for c in params.get("allowed") or ()]
    elif kind == RuleKind.BLACKOUT:
        for i, period in enumerate(params.get("periods") or ()):
            for end in ("start", "end"):
                with contextlib.suppress(KeyError, TypeError, ValueError):
                    initial[f"blackout_{end}_{i}"] = timezone.localtime(datetime.fromisoformat(period[end]))
    elif kind == RuleKind.REQUIRED_CONTENT:
        for i, item in enumerate(params.get("required") or ()):
            if isinstance(item, Mapping):
                initial[f"required_label_{i}"] = item.get("label", "")
                initial[f"required_any_of_{i}"] = _lines(item.get("any_of"))
                initial[f"required_patterns_{i}"] = _lines(item.get("patterns"))
        initial["required_fields"] = list(params.get("fields") or _DEFAULT_CONTENT_FIELDS)
    return initial


class ParamErrors(Exception):
    """Field name -> message, for the form to attach to its fields."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


def kind_params(kind: str, data: Mapping[str, Any], rows: int = 1) -> dict[str, Any]:
    """The stored shape the engine reads, from the cleaned values of ``kind_fields``; raises
    ParamErrors naming each field that is missing or wrong."""
    errors: dict[str, str] = {}

    def need(name: str, message: str = "This field is required for this kind of rule.") -> Any:
        value = data.get(name)
        if value in (None, "", []):
            errors.setdefault(name, message)
        return value

    params: dict[str, Any] = {}
    if kind == RuleKind.QUIET_HOURS:
        start, end = need("quiet_start"), need("quiet_end")
        if start is not None and end is not None:
            if start.strftime(_TIME_FORMAT) == end.strftime(_TIME_FORMAT):
                errors["quiet_end"] = "The window would be empty: the end must differ from the start."
            params = {"start": start.strftime(_TIME_FORMAT), "end": end.strftime(_TIME_FORMAT)}
    elif kind == RuleKind.FREQUENCY_CAP:
        limit, period = need("cap_limit"), need("cap_period")
        unit = data.get("cap_unit") or "days"
        if limit is not None and period is not None:
            hours = period * UNITS[unit]
            params = {"limit": limit, "window_hours": int(hours) if float(hours).is_integer() else hours}
    elif kind == RuleKind.COUNTRY_ALLOW:
        allowed = need("allowed_countries", "Choose at least one country.")
        params = {"allowed": list(allowed or ())}
    elif kind == RuleKind.BLACKOUT:
        periods = []
        for i in range(rows):
            start, end = data.get(f"blackout_start_{i}"), data.get(f"blackout_end_{i}")
            if start is None and end is None:
                continue
            if start is None or end is None:
                missing = f"blackout_start_{i}" if start is None else f"blackout_end_{i}"
                errors[missing] = "A period needs both a start and an end."
                continue
            if end <= start:
                errors[f"blackout_end_{i}"] = "A period must end after it starts."
                continue
            periods.append(
                {"start": start.astimezone(UTC).isoformat(), "end": end.astimezone(UTC).isoformat()}
            )
        if not periods and not errors:
            errors["blackout_start_0"] = "Give at least one period."
        params = {"periods": periods}
    elif kind == RuleKind.REQUIRED_CONTENT:
        required = []
        for i in range(rows):
            label = (data.get(f"required_label_{i}") or "").strip()
            any_of = [t.strip() for t in (data.get(f"required_any_of_{i}") or "").splitlines() if t.strip()]
            patterns = [
                p.strip() for p in (data.get(f"required_patterns_{i}") or "").splitlines() if p.strip()
            ]
            if not (label or any_of or patterns):
                continue
            if not label:
                errors[f"required_label_{i}"] = "Say in words what must be there."
            if not (any_of or patterns):
                errors[f"required_any_of_{i}"] = "Give at least one text (or a pattern) that satisfies it."
            for pattern in patterns:
                try:
                    re.compile(pattern, re.IGNORECASE)
                except re.error as exc:
                    errors[f"required_patterns_{i}"] = f"Not a valid regular expression: {pattern} ({exc})."
            item: dict[str, Any] = {"label": label, "any_of": any_of}
            if patterns:
                item["patterns"] = patterns
            required.append(item)
        if not required and not errors:
            errors["required_label_0"] = "Give at least one item the content must carry."
        fields = need("required_fields", "Choose at least one part of the content to look in.")
        params = {"required": required, "fields": list(fields or ())}
    if errors:
        raise ParamErrors(errors)
    return params


def _plural(count: float, word: str) -> str:
    return f"{count:g} {word}" if count == 1 else f"{count:g} {word}s"


def params_rows(kind: str, params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A version's parameters in words, as (label, text) rows for people who read them."""
    if kind not in PARAM_KINDS:
        return [("Settings", "None: this kind of rule has no settings of its own.")]
    rows: list[tuple[str, str]] = []
    if kind == RuleKind.QUIET_HOURS:
        rows.append(
            (
                "Messages may go out",
                f"from {params.get('start', '?')} until {params.get('end', '?')}, recipient's local time",
            )
        )
    elif kind == RuleKind.FREQUENCY_CAP:
        initial = kind_initial(kind, params)
        period = _plural(initial.get("cap_period") or 0, str(initial.get("cap_unit", "hours")).rstrip("s"))
        rows.append(("At most", f"{_plural(params.get('limit', 0), 'message')} per {period}"))
    elif kind == RuleKind.COUNTRY_ALLOW:
        rows.append(
            (
                "Allowed countries",
                ", ".join(country_name(str(c).upper()) for c in params.get("allowed") or ()),
            )
        )
    elif kind == RuleKind.BLACKOUT:
        zone = timezone.get_current_timezone_name()
        for i, period in enumerate(params.get("periods") or (), 1):
            try:
                start, end = (timezone.localtime(datetime.fromisoformat(period[k])) for k in ("start", "end"))
            except (KeyError, TypeError, ValueError):
                rows.append((f"Period {i}", str(period)))
                continue
            rows.append((f"Period {i}", f"{start:%Y-%m-%d %H:%M} until {end:%Y-%m-%d %H:%M} ({zone})"))
    elif kind == RuleKind.REQUIRED_CONTENT:
        for item in params.get("required") or ():
            if not isinstance(item, Mapping):
                continue
            shown = [
                *(f"“{t}”" for t in item.get("any_of") or ()),
                *(f"text matching /{p}/" for p in item.get("patterns") or ()),
            ]
            rows.append((f"Must carry a {item.get('label', '?')}", " or ".join(shown)))
        names = dict(CONTENT_FIELDS)
        rows.append(
            (
                "Looked for in",
                ", ".join(names.get(f, f) for f in params.get("fields") or _DEFAULT_CONTENT_FIELDS),
            )
        )
    return rows
