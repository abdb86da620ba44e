"""Setting different values on many message rows in one statement per batch.

Django's ``bulk_update`` builds a CASE expression per field and row, which costs more than the
whole hand-off for a batch of a few hundred messages. On PostgreSQL this is one
``UPDATE ... FROM (VALUES ...)``; elsewhere one prepared statement run for every row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any, cast
from uuid import UUID

from django.db import connection
from django.db.models import Field

from hub.messaging.models import Message

CHUNK = 500


def messages_bulk_set(rows: Mapping[UUID, Mapping[str, Any]]) -> None:
    """For each message id, set its fields to its values. Rows with the same field names share a statement."""
    groups: dict[tuple[str, ...], list[tuple[UUID, Mapping[str, Any]]]] = defaultdict(list)
    for message_id, values in rows.items():
        groups[tuple(sorted(values))].append((message_id, values))
    for names, items in groups.items():
        for start in range(0, len(items), CHUNK):
            _update(names, items[start : start + CHUNK])


def _update(names: tuple[str, ...], items: list[tuple[UUID, Mapping[str, Any]]]) -> None:
    meta = Message._meta
    table = connection.ops.quote_name(meta.db_table)
    pk = meta.pk
    assert pk is not None  # noqa: S101 - every model has one
    fields = [cast("Field[Any, Any]", meta.get_field(name)) for name in names]
    columns = [connection.ops.quote_name(str(f.column)) for f in fields]
    pk_column = connection.ops.quote_name(str(pk.column))
    params: list[Any] = []
    for message_id, values in items:
        params.append(pk.get_db_prep_save(message_id, connection))
        params.extend(f.get_db_prep_save(values[f.name], connection) for f in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            casts = [f"%s::{pk.db_type(connection)}"] + [f"%s::{f.db_type(connection)}" for f in fields]
            row = "(" + ", ".join(casts) + ")"
            assignments = ", ".join(f"{c} = v.{c}" for c in columns)
            sql = (
                f"UPDATE {table} AS m SET {assignments} "  # noqa: S608 - identifiers from model meta
                f"FROM (VALUES {', '.join([row] * len(items))}) AS v(_id, {', '.join(columns)}) "
                f"WHERE m.{pk_column} = v._id"
            )
            cursor.execute(sql, params)
        else:
            width = len(fields) + 1
            assignments = ", ".join(f"{c} = %s" for c in columns)
            sql = f"UPDATE {table} SET {assignments} WHERE {pk_column} = %s"  # noqa: S608
            cursor.executemany(
                sql, [[*params[i + 1 : i + width], params[i]] for i in range(0, len(params), width)]
            )
