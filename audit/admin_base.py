"""The admin base for rows written only through the services (audit records, messages,
contacts, the consent ledger, workspace pages): they are read in admin, and not even a
superuser adds, edits or deletes one by hand. In ``audit``, the lowest layer, so that the
audit admin and ``hub`` share it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.timesince import timesince


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


def _label(key: str) -> str:
    return key.replace("_", " ").strip().capitalize() or key


def _flatten(value: object, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(label, text) per leaf of a JSON value: nested keys joined with " → ", lists of plain
    values comma-joined, empty values shown as "—"."""
    if isinstance(value, Mapping):
        if not value and prefix:
            yield prefix, "—"
        for key, inner in value.items():
            yield from _flatten(inner, f"{prefix} → {_label(str(key))}" if prefix else _label(str(key)))
    elif isinstance(value, list) and any(isinstance(v, (Mapping, list)) for v in value):
        for index, inner in enumerate(value, 1):
            yield from _flatten(inner, f"{prefix} {index}")
    elif isinstance(value, list):
        yield prefix, ", ".join(str(v) for v in value) or "—"
    else:
        yield prefix, "—" if value is None or value == "" else str(value)


def labelled_rows(
    value: Mapping[str, object] | Iterable[tuple[str, str]], *, pre: bool = False
) -> SafeString:
    """A JSON object (or (label, text) pairs) as a table of labelled rows, for people rather
    than programmers: audit details, outbox parts, timeline details. Everything is escaped."""
    rows = list(_flatten(value)) if isinstance(value, Mapping) else list(value)
    if not rows:
        return format_html("<p>{}</p>", "—")
    cell = "<td>{}</td>" if not pre else '<td><pre style="white-space: pre-wrap; margin: 0">{}</pre></td>'
    return format_html(
        '<table class="labelled-rows">{}</table>',
        format_html_join("", '<tr><th scope="row" style="width: 12em">{}</th>' + cell + "</tr>", rows),
    )


def labelled_json(field: str, description: str) -> Callable[[Any, Any], SafeString | str]:
    """A read-only admin column showing the JSON ``field`` as labelled rows: set it as an
    attribute of the admin (``evidence_rows = labelled_json("evidence", "evidence")``) and list
    that name instead of the field, which the stock admin would show as raw JSON."""

    @admin.display(description=description)
    def show(model_admin: Any, obj: Any) -> SafeString | str:
        value = getattr(obj, field)
        if value in (None, "", {}, []):
            return "—"
        return labelled_rows(value if isinstance(value, Mapping) else {description: value})

    show.__name__ = f"{field}_rows"
    return show


def age_words(since: datetime, now: datetime | None = None) -> str:
    """How long something has waited, in words: "under a minute" where Django's ``timesince``
    says "0 minutes" (every home and the approval queue said it right after a submission)."""
    now = now or timezone.now()
    return "under a minute" if (now - since).total_seconds() < 60 else timesince(since, now)
