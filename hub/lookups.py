"""``field__in=values`` written as ``field = ANY(%s)`` on PostgreSQL, for every field.

The hub's PostgreSQL connections bind parameters on the server (``server_side_binding``,
hub.settings), and a statement may carry at most 65,535 parameters there: Django's own
``IN (%s, %s, …)`` refuses a longer list outright ("number of parameters must be between 0
and 65535"), and a bench filling 100,000 runs met it. ``= ANY(%s)`` binds the whole list as
one array parameter, whatever its length. It is also one statement text for every length:
psycopg parses an ``IN`` text anew for each length (it caches a statement's parsing only up
to a few hundred parameters), placeholder by placeholder, and the server cannot reuse a
prepared plan for it; a dispatch batch of 100 messages ran several of these a batch.

The values are prepared as ``in`` prepares them (None left out, duplicates dropped, an empty
list matching nothing). A subquery, a list holding expressions, a relation of several columns
and other databases keep Django's ``IN``. Registered by ``HubConfig.ready`` in place of
Django's ``in`` on every field and every relation. (``bulk_create`` meets no such limit on
PostgreSQL: Django 5.2 sends its literal rows as one array a column, ``UNNEST``.)
"""

from __future__ import annotations

from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, ForeignObject
from django.db.models.expressions import ColPairs
from django.db.models.fields.related_lookups import RelatedIn
from django.db.models.lookups import In
from django.db.models.sql.compiler import SQLCompiler


def _any_sql(lookup: In, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, Any] | None:
    """``lhs = ANY(%s::type[])`` and its one array parameter, or None for Django's ``IN``."""
    if connection.vendor != "postgresql" or not lookup.rhs_is_direct_value():
        return None
    if any(hasattr(value, "resolve_expression") for value in lookup.rhs):
        return None
    output_field = getattr(lookup.lhs, "output_field", None)
    array_type = output_field.db_type(connection) if output_field is not None else None
    if array_type is None:
        return None
    lhs, lhs_params = lookup.process_lhs(compiler, connection)
    # In's own preparing of each value (None left out, duplicates dropped); an empty list
    # raises EmptyResultSet there, as ``in`` does.
    _, params = lookup.process_rhs(compiler, connection)
    return f"{lhs} = ANY(%s::{array_type}[])", (*lhs_params, list(params))


class InAny(In):
    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, Any]:
        return _any_sql(self, compiler, connection) or super().as_sql(compiler, connection)


class RelatedInAny(RelatedIn):
    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, Any]:
        if isinstance(self.lhs, ColPairs):
            return super().as_sql(compiler, connection)
        return _any_sql(self, compiler, connection) or super().as_sql(compiler, connection)


def lookups_register() -> None:
    Field.register_lookup(InAny)
    ForeignObject.register_lookup(RelatedInAny)
