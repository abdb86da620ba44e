"""Could the role the hub runs as rewrite the audit log? A system check and /readyz ask.

A database check (``manage.py check --database default``, and before ``migrate``): it warns,
it does not stop the hub, since a hub that runs as one role still works and its log is still
checked by verify_audit; what is lost is that the role cannot undo its own record.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core import checks
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from hub.dbroles.tables import schema_relations

W001 = "hub.dbroles.W001"


def audit_log_rewriters(*, connection: BaseDatabaseWrapper) -> list[str]:
    """Why the role this connection runs as could rewrite the audit log: it is a superuser,
    owns an audit table (or has its owner's privileges), or may UPDATE, DELETE, TRUNCATE or add triggers to one. Empty when it cannot; always empty on a
    database without roles (SQLite)."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
        role, superuser = cursor.fetchone()
        if superuser:
            return [f"role {role} is a superuser"]
        reasons = []
        for relation in schema_relations(cursor):
            if not relation.is_audit or relation.is_sequence:
                continue
            if relation.owned:
                reasons.append(f"role {role} owns {relation.name}")
            if relation.powers:
                reasons.append(f"role {role} may {'/'.join(relation.powers)} {relation.name}")
    return reasons


@checks.register(checks.Tags.database)
def audit_log_role_check(
    app_configs: Any = None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Warn when the hub's own role (``default``) could rewrite the audit log."""
    if not databases or DEFAULT_DB_ALIAS not in databases:
        return []
    reasons = audit_log_rewriters(connection=connections[DEFAULT_DB_ALIAS])
    if not reasons:
        return []
    return [
        checks.Warning(
            "The hub's database role could rewrite the audit log: " + "; ".join(reasons) + ".",
            hint="Run the hub as its own role: set MIGRATE_DATABASE_URL to the schema owner, "
            "DATABASE_URL to another role, and run `python manage.py setup_db_roles` "
            "(docs/security/database-roles.md).",
            id=W001,
        )
    ]
