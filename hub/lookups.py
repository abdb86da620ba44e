"""``field__any=values``: ``field IN (values)`` written as ``field = ANY(%s)`` on PostgreSQL.

``IN (%s, %s, …)`` is a statement whose text grows with the list: psycopg parses every such
text anew (it caches a statement's parsing only up to 50 parameters), placeholder by
placeholder, and the server cannot reuse a prepared plan for it. A dispatch batch of 100
messages ran several of these a batch. ``= ANY(%s)`` binds the whole list as one array
parameter: one statement text, whatever the list's length, parsed once per process and
prepared by the server like any other. The values are prepared as ``in`` prepares them;
other databases get ``in`` itself. Registered on every field by ``HubConfig.ready``.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field
from django.db.models.lookups import In
from django.db.models.sql.compiler import SQLCompiler


class AnyOf(In):
    lookup_name = "any"

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, Any]:
        if connection.vendor != "postgresql" or not self.rhs_is_direct_value():
            return super().as_sql(compiler, connection)
        array_type = self.lhs.output_field.db_type(connection)
        if array_type is None:
            return super().as_sql(compiler, connection)
        lhs, lhs_params = self.process_lhs(compiler, connection)
        # In's own preparing of each value (None left out, duplicates dropped); an empty list
        # raises EmptyResultSet there, as ``in`` does.
        _, params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY(%s::{array_type}[])", (*lhs_params, list(params))


def lookups_register() -> None:
    Field.register_lookup(AnyOf)
