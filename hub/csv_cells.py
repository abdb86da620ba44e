"""Cells for the CSV files the hub hands out (message export, reports, evidence packs).

A value that came from outside (an imported external id, a provider's id, a template key) and
starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula to a spreadsheet
that opens the file (``=HYPERLINK(...)`` sends the sheet's data away). Such text gets a leading
``'`` so it is shown as text (OWASP, "CSV Injection"); numbers are left as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """The value as a spreadsheet will show it as text, never run it."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_row(values: Iterable[Any]) -> list[Any]:
    return [csv_cell(v) for v in values]


def csv_dict(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: csv_cell(v) for k, v in row.items()}
