"""Writing many rows (events, runs, their results) in one statement per 1,000.

``save()`` of each is a round trip per row, and Django's ``bulk_update`` builds a CASE
expression per field and row; on PostgreSQL this is one ``UPDATE ... FROM unnest(...)`` of
one array per column. New rows go through ``audit.rows.rows_insert`` (one INSERT for a few, a
COPY for many), which costs a fraction of ``bulk_create``'s preparing of every field."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any, TypeVar, cast

from django.db import connection, models
from django.db.models import Field
from django.db.models.base import ModelState

from audit.rows import rows_insert

CHUNK = 1000
M = TypeVar("M", bound=models.Model)


def new_row(model: type[M], related: dict[str, models.Model | None], **values: Any) -> M:
    """A new ``model`` instance of ``values`` (field names) whose foreign keys ``related``
    (field name → object or None) are set as ``model(journey=journey, ...)`` would set them:
    their ids, and their objects cached. Every other field takes its default. Made without
    the model's constructor (its per-field handling and the related descriptors' checks were
    half the CPU of a batch's new events and runs); no ``pre_init``/``post_init`` signal,
    which these models have no receiver for."""
    row = model.__new__(model)
    row._state = ModelState()
    fields = row.__dict__
    for name, obj in related.items():
        fields[f"{name}_id"] = None if obj is None else obj.pk
    fields.update(values)
    for attname, field in _concrete(model):
        if attname not in fields:
            fields[attname] = field.get_default()
    row._state.fields_cache.update(related)
    return row


@lru_cache(maxsize=32)
def _concrete(model: type[models.Model]) -> tuple[tuple[str, Field[Any, Any]], ...]:
    return tuple((str(f.attname), f) for f in model._meta.concrete_fields)


def rows_create(model: type[models.Model], rows: Sequence[models.Model]) -> None:
    """Insert ``rows``, new instances of ``model`` with every field set in Python (primary
    keys and timestamps too): no signals, nothing read back. A duplicate key raises Django's
    IntegrityError, whichever way the rows went (a COPY's errors are psycopg's own)."""
    fields = model._meta.concrete_fields
    names = [str(f.name) for f in fields]
    with connection.wrap_database_errors:
        rows_insert(model, names, ([getattr(row, str(f.attname)) for f in fields] for row in rows))


def rows_save(model: type[models.Model], rows: Sequence[models.Model], names: Sequence[str]) -> None:
    """Write fields ``names`` of ``rows`` (instances of ``model``, already in the table)."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(rows, names)
        return
    meta = model._meta
    pk = meta.pk
    assert pk is not None  # noqa: S101 - every model has one
    fields = [cast("Field[Any, Any]", meta.get_field(name)) for name in names]
    columns = [connection.ops.quote_name(str(f.column)) for f in fields]
    table = connection.ops.quote_name(meta.db_table)
    pk_column = connection.ops.quote_name(str(pk.column))
    # One array per column: a statement of a few parameters, whatever the number of rows.
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in [pk, *fields])
    assignments = ", ".join(f"{c} = v.{c}" for c in columns)
    sql = (
        f"UPDATE {table} AS r SET {assignments} "  # noqa: S608 - identifiers from model meta
        f"FROM unnest({arrays}) AS v(_id, {', '.join(columns)}) "
        f"WHERE r.{pk_column} = v._id"
    )
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        params = [[pk.get_db_prep_save(item.pk, connection) for item in chunk]]
        params += [
            [f.get_db_prep_save(getattr(item, f.attname), connection) for item in chunk] for f in fields
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
