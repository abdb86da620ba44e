"""Writing many rows (events, runs, their results) in one statement per 1,000.

``save()`` of each is a round trip per row, and Django's ``bulk_update`` builds a CASE
expression per field and row; on PostgreSQL this is one ``UPDATE ... FROM unnest(...)`` of
one array per column. New rows go through ``audit.rows.rows_insert`` (one INSERT for a few, a
COPY for many), which costs a fraction of ``bulk_create``'s preparing of every field."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache, partial
from operator import attrgetter
from typing import Any, TypeVar, cast
from uuid import UUID

from django.db import connection, models
from django.db.models import Field
from psycopg.types.json import Jsonb

from audit.rows import (
    INSERT_MAX_ROWS,
    JsonText,
    instance_made,
    rows_insert,
    rows_update,
)

CHUNK = 1000
M = TypeVar("M", bound=models.Model)


def new_row(model: type[M], related: dict[str, models.Model | None], **values: Any) -> M:
    """A new ``model`` instance of ``values`` (field names) whose foreign keys ``related``
    (field name → object or None) are set as ``model(journey=journey, ...)`` would set them:
    their ids, and their objects cached. Every other field takes its default. Made without
    the model's constructor (``audit.rows.instance_made``: its per-field handling and the
    related descriptors' checks were half the CPU of a batch's new events and runs)."""
    return instance_made(model, **related, **values)


@lru_cache(maxsize=32)
def _values_of(model: type[models.Model]) -> tuple[list[str], Any]:
    """``model``'s concrete field names, and a getter of a row's values in their order."""
    fields = model._meta.concrete_fields
    return [str(f.name) for f in fields], attrgetter(*(str(f.attname) for f in fields))


def rows_create(model: type[models.Model], rows: Sequence[models.Model]) -> None:
    """Insert ``rows``, new instances of ``model`` with every field set in Python (primary
    keys and timestamps too): no signals, nothing read back. A duplicate key raises Django's
    IntegrityError, whichever way the rows went (a COPY's errors are psycopg's own)."""
    rows_create_together([(model, *rows_values(model, rows))])


def rows_values(model: type[models.Model], rows: Sequence[models.Model]) -> tuple[list[str], list[Any]]:
    """``model``'s concrete field names, and each of ``rows``' values in their order."""
    names, values = _values_of(model)
    return names, list(map(values, rows))


def rows_create_together(
    writes: Sequence[tuple[type[models.Model], Sequence[str], Sequence[Sequence[Any]]]],
) -> None:
    """Insert rows into several tables: ``writes`` holds, per table, its model, the field
    names and the rows' values in their order (JSON fields as plain Python values, or their
    text as ``audit.rows.JsonText``). On PostgreSQL, when each table has a few rows
    (``INSERT_MAX_ROWS``), one statement of data-modifying ``WITH`` parts (one round trip
    instead of one a table; the rows' foreign keys are checked at commit, as Django's
    constraints are deferred); otherwise ``rows_insert`` a table (a COPY for many rows).

    In that statement each table's rows are one ``jsonb`` parameter, read back into the
    table's row type (``jsonb_populate_recordset``): a statement of one parameter a table,
    its text the same whatever the number of rows, so psycopg parses it once and the server
    prepares it once (a parameter a value went past psycopg's 50 a cached statement, and a
    statement a count of rows). Values go through JSON: text, numbers, booleans, JSON, UUIDs,
    dates and times and decimals (as their text, which PostgreSQL reads as the column's
    type); anything else is refused (a TypeError)."""
    writes = [w for w in writes if w[2]]
    if not writes:
        return
    if (
        connection.vendor != "postgresql"
        or len(writes) == 1
        or any(len(w[2]) > INSERT_MAX_ROWS for w in writes)
    ):
        with connection.wrap_database_errors:
            for model, names, rows in writes:
                rows_insert(model, names, rows)
        return
    parts: list[str] = []
    params: list[Any] = []
    for model, names, rows in writes:
        table, columns, keys, json_at = _inserting(model, tuple(names))
        parts.append(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM jsonb_populate_recordset(NULL::{table}, %s)"  # noqa: S608 - quoted names
        )
        records = [dict(zip(keys, row, strict=True)) for row in rows]
        for i in json_at:
            # A JSON column given as its text is nested as the JSON it is.
            for record in records:
                if type(record[keys[i]]) is JsonText:
                    record[keys[i]] = json.loads(record[keys[i]])
        params.append(Jsonb(records, dumps=_rows_json))
    *first, last = parts
    sql = "WITH " + ", ".join(f"w{i} AS ({part})" for i, part in enumerate(first)) + f" {last}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _json_value(value: Any) -> str:
    """A value JSON has no type for, as the text PostgreSQL reads back as its column's type."""
    if isinstance(value, UUID | datetime | date | time | Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} cannot be written through JSON")


_rows_json = partial(json.dumps, default=_json_value)


@lru_cache(maxsize=64)
def _inserting(
    model: type[models.Model], names: tuple[str, ...]
) -> tuple[str, str, tuple[str, ...], tuple[int, ...]]:
    """The quoted table and columns of ``names``, their column names, and which of them are
    JSON."""
    fields = [model._meta.get_field(name) for name in names]
    quote = connection.ops.quote_name
    keys = tuple(str(f.column) for f in fields)  # type: ignore[union-attr]
    json_at = tuple(i for i, f in enumerate(fields) if isinstance(f, models.JSONField))
    return quote(model._meta.db_table), ", ".join(quote(k) for k in keys), keys, json_at


def rows_save(model: type[models.Model], rows: Sequence[models.Model], names: Sequence[str]) -> None:
    """Write fields ``names`` of ``rows`` (instances of ``model``, already in the table)."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(rows, names)
        return
    # One array per column (audit.rows.rows_update): a statement of a few parameters, whatever the
    # number of rows.
    values = attrgetter(*(cast("Field[Any, Any]", model._meta.get_field(name)).attname for name in names))
    single = len(names) == 1
    rows_update(model, names, [(row.pk, (values(row),) if single else values(row)) for row in rows])
