"""Which relations hold the audit log, read from the database and the app registry.

An audit table is every table of the ``audit`` app (whatever models it gains) and every
table named ``audit_…`` (one made by SQL alone); an audit sequence belongs to such a table.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db.backends.utils import CursorWrapper

AUDIT_APP = "audit"
AUDIT_PREFIX = "audit_"

# Every table, view and sequence of the current schema, what the current role may do to it,
# and for a sequence the table that owns it (serial or identity column).
RELATIONS_SQL = """
SELECT c.relname, c.relkind, coalesce(t.relname, c.relname),
       pg_has_role(c.relowner, 'USAGE'),
       c.relkind IN ('r', 'p') AND has_table_privilege(c.oid, 'UPDATE'),
       c.relkind IN ('r', 'p') AND has_table_privilege(c.oid, 'DELETE'),
       c.relkind IN ('r', 'p') AND has_table_privilege(c.oid, 'TRUNCATE'),
       c.relkind IN ('r', 'p') AND has_table_privilege(c.oid, 'TRIGGER')
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_depend d ON c.relkind = 'S' AND d.classid = 'pg_class'::regclass AND d.objid = c.oid
     AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
LEFT JOIN pg_class t ON t.oid = d.refobjid
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
ORDER BY c.relname
"""


@dataclass(frozen=True)
class Relation:
    """A table or sequence, and what the role that read it may do to it."""

    name: str
    is_sequence: bool
    is_audit: bool
    owned: bool
    powers: tuple[str, ...]


def audit_table_names() -> frozenset[str]:
    """The tables of the audit app's models (auto-created ones included)."""
    models = apps.get_app_config(AUDIT_APP).get_models(include_auto_created=True)
    return frozenset(model._meta.db_table for model in models)


def schema_relations(cursor: CursorWrapper) -> list[Relation]:
    """Every relation of the current schema, classified, with the reading role's powers."""
    audit_tables = audit_table_names()
    cursor.execute(RELATIONS_SQL)
    relations = []
    for name, kind, table, owned, update, delete, truncate, trigger in cursor.fetchall():
        flags = {"UPDATE": update, "DELETE": delete, "TRUNCATE": truncate, "TRIGGER": trigger}
        relations.append(
            Relation(
                name=name,
                is_sequence=kind == "S",
                is_audit=table in audit_tables or table.startswith(AUDIT_PREFIX),
                owned=owned,
                powers=tuple(power for power, held in flags.items() if held),
            )
        )
    return relations
