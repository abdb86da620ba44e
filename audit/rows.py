"""Inserting rows fast: PostgreSQL ``COPY … FROM STDIN`` instead of an ORM bulk insert, and
one plain multi-row ``INSERT`` for a few rows.

``bulk_create`` prepares every field of every object and quotes every value into one large
statement; for the audit trail and message timelines, written for every status change, that
cost more than the rest of a hand-off. ``COPY`` streams the rows as they are. But a ``COPY``
costs two round trips to the server (start, then data and end) and more protocol work than a
statement, so a write of a few rows (one single accept writes one notification, one message,
two events and three audit records) is one ``INSERT … VALUES (…), (…)`` instead: one round
trip. Other databases (SQLite, the embedded default) get one prepared ``INSERT`` run for each
row; callers needing primary keys back use ``bulk_create``. Lives in
``audit``, the lowest layer, so that ``hub`` may use it too.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from django.db import connection, models
from psycopg.types.json import Jsonb

M = TypeVar("M", bound=models.Model)

# Up to this many rows, one INSERT statement; more, a COPY.
INSERT_MAX_ROWS = 50


@functools.cache
def _shape(
    model: type[models.Model], columns: tuple[str, ...], vendor: str
) -> tuple[list[Any], list[int], str, str]:
    """The fields of ``columns``, which of them are JSON, and the quoted table and column
    names: the same for every write of these columns, so worked out once per process."""
    meta = model._meta
    fields = [meta.get_field(name) for name in columns]
    json_at = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
    quote = connection.ops.quote_name
    names = ", ".join(quote(str(f.column)) for f in fields)  # type: ignore[union-attr]
    return fields, json_at, quote(meta.db_table), names


def rows_insert(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert ``rows`` (values in ``columns`` order, field names) into ``model``'s table; returns
    how many. JSON fields take plain Python values; no signals are sent, no objects returned."""
    items = [list(row) for row in rows]
    if not items:
        return 0
    vendor = connection.vendor
    fields, json_at, table, names = _shape(model, tuple(columns), vendor)
    if vendor != "postgresql":
        # One prepared INSERT run for every row (one statement in the query log, as on
        # PostgreSQL), each value prepared by its field (a foreign key's value is its id). Not
        # ``bulk_create``: it would replace the given ``auto_now_add`` times with its own clock
        # and split the rows into as many statements as SQLite's 999 parameters allow.
        one = "(" + ", ".join(["%s"] * len(fields)) + ")"
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {table} ({names}) VALUES {one}",  # noqa: S608 - names quoted, values bound
                [
                    [f.get_db_prep_save(v, connection) for f, v in zip(fields, row, strict=True)]
                    for row in items
                ],
            )
        return len(items)
    # JSON as text for COPY; bound as jsonb, as Django binds it, in an INSERT (whatever the
    # connection's binding, client or server side).
    as_json: Any = json.dumps if len(items) > INSERT_MAX_ROWS else Jsonb
    for row in items:
        for i in json_at:
            row[i] = as_json(row[i])
    if len(items) <= INSERT_MAX_ROWS:
        one = "(" + ", ".join(["%s"] * len(fields)) + ")"
        values = ", ".join([one] * len(items))
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({names}) VALUES {values}",  # noqa: S608 - names quoted, values bound
                [value for row in items for value in row],
            )
        return len(items)
    statement = f"COPY {table} ({names}) FROM STDIN"
    started = time.monotonic()
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in items:
            copy.write_row(row)
    if connection.queries_logged:
        # Logged as a statement, as an INSERT is: a count of statements (the tests' query
        # counts, the debug toolbar) is the same whichever way the rows went.
        elapsed = time.monotonic() - started
        connection.queries_log.append({"sql": f"{statement} -- {len(items)} rows", "time": f"{elapsed:.3f}"})
    return len(items)


@functools.cache
def _making(
    model: type[models.Model],
) -> tuple[list[Any], dict[str, int], list[tuple[int, Any]], dict[str, Any]]:
    """For ``instance_made``: every column's default (those made by a callable, per instance:
    their positions and fields), each column's position by field and attribute name, and the
    relation fields by name."""
    fields = model._meta.concrete_fields
    row: list[Any] = []
    made: list[tuple[int, Any]] = []
    for i, f in enumerate(fields):
        if f.has_default() and callable(f.default):
            made.append((i, f))
            row.append(None)
        else:
            row.append(f.get_default())
    at = {f.attname: i for i, f in enumerate(fields)} | {f.name: i for i, f in enumerate(fields)}
    relations = {f.name: f for f in fields if f.is_relation}
    return row, at, made, relations


def instance_made(model: type[M], /, **values: Any) -> M:
    """``model(**values)`` made as the ORM makes the rows it reads: one value per column in
    order, so Django's constructor looks up no default and matches no keyword per field (half
    an accept's instances' cost). Values by field or attribute name; a relation given by
    its field name takes an instance (or None), which is cached on the result as ``model(...)``
    caches it. Unsaved, as ``model(...)`` leaves it."""
    defaults, at, made, relations = _making(model)
    row = list(defaults)
    for i, f in made:
        if f.name not in values and f.attname not in values:
            row[i] = f.get_default()
    related: list[tuple[Any, Any]] = []
    for name, value in values.items():
        field = relations.get(name)
        if field is not None and field.name == name and field.attname != name:
            related.append((field, value))
            value = None if value is None else getattr(value, field.target_field.attname)
        row[at[name]] = value
    instance = model(*row)
    for field, value in related:
        field.set_cached_value(instance, value)
    return instance
