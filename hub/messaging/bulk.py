"""Setting different values on many rows in one statement per batch.

Django's ``bulk_update`` builds a CASE expression per field and row, which costs more than the
whole hand-off for a batch of a few hundred messages. On PostgreSQL this is one
``UPDATE … FROM unnest(…)`` of one array per column: a statement of a few parameters whatever
the number of rows, so its text is the same for every batch of the same fields (psycopg parses
it once, the server prepares it), where ``FROM (VALUES …)`` bound every value on its own and
made a new text for each batch size. Elsewhere one prepared statement run for every row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, cast
from uuid import UUID

from django.db import connection, models
from django.db.models import Field
from more_itertools import chunked

from audit.rows import array_placeholder, arrays_cast
from hub.messaging.models import Message

CHUNK = 1000


def messages_bulk_set(rows: Mapping[UUID, Mapping[str, Any]]) -> None:
    """For each message id, set its fields to its values. Rows with the same field names share a statement."""
    groups: dict[tuple[str, ...], list[tuple[UUID, Mapping[str, Any]]]] = defaultdict(list)
    for message_id, values in rows.items():
        groups[tuple(sorted(values))].append((message_id, values))
    for names, items in groups.items():
        rows_update(Message, names, [(mid, [values[n] for n in names]) for mid, values in items])


def rows_update(
    model: type[models.Model], names: Sequence[str], items: Sequence[tuple[Any, Sequence[Any]]]
) -> None:
    """Set fields ``names`` of ``model``'s rows: ``items`` holds each row's primary key and its
    values in ``names``' order."""
    if not items:
        return
    vendor = connection.vendor
    pk, fields, sql = _update_shape(
        model, tuple(names), vendor, array_placeholder() if vendor == "postgresql" else ""
    )
    prep = connection
    for chunk in chunked(items, CHUNK):
        with connection.cursor() as cursor:
            if vendor == "postgresql":
                # One array per column.
                params = [[pk.get_db_prep_save(key, prep) for key, _ in chunk]]
                params += [
                    [f.get_db_prep_save(values[i], prep) for _, values in chunk] for i, f in enumerate(fields)
                ]
                cursor.execute(sql, params)
            else:
                cursor.executemany(
                    sql,
                    [
                        [
                            *(f.get_db_prep_save(v, prep) for f, v in zip(fields, values, strict=True)),
                            pk.get_db_prep_save(key, prep),
                        ]
                        for key, values in chunk
                    ],
                )


@lru_cache(maxsize=64)
def _update_shape(
    model: type[models.Model], names: tuple[str, ...], vendor: str, placeholder: str
) -> tuple[Field[Any, Any], list[Field[Any, Any]], str]:
    """The primary key, the fields of ``names`` and the statement: the same for every update
    of these fields, so worked out once per process."""
    meta = model._meta
    pk = meta.pk
    assert pk is not None  # noqa: S101 - every model has one
    fields = [cast("Field[Any, Any]", meta.get_field(name)) for name in names]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    columns = [quote(str(f.column)) for f in fields]
    pk_column = quote(str(pk.column))
    if vendor == "postgresql":
        arrays = arrays_cast([pk, *fields], placeholder)
        assignments = ", ".join(f"{c} = v.{c}" for c in columns)
        sql = (
            f"UPDATE {table} AS r SET {assignments} "  # noqa: S608 - identifiers from model meta
            f"FROM unnest({arrays}) AS v(_id, {', '.join(columns)}) "
            f"WHERE r.{pk_column} = v._id"
        )
    else:
        assignments = ", ".join(f"{c} = %s" for c in columns)
        sql = f"UPDATE {table} SET {assignments} WHERE {pk_column} = %s"  # noqa: S608
    return pk, fields, sql
