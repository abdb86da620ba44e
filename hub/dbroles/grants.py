"""Creating the hub's role and giving it exactly its grants (run as the schema owner).

The hub's role gets SELECT and INSERT on the audit tables, USAGE on their sequences, and SELECT, INSERT, UPDATE, DELETE on every other
table. It owns nothing, is no superuser and is no member of the owner's role, so it can
neither TRUNCATE nor ALTER an audit table nor disable its triggers.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.utils import CursorWrapper

from hub.dbroles.owner import OWNER_ALIAS, roles_separated
from hub.dbroles.tables import Relation, schema_relations

AUDIT_TABLE_GRANTS = "SELECT, INSERT"
TABLE_GRANTS = "SELECT, INSERT, UPDATE, DELETE"
AUDIT_SEQUENCE_GRANTS = "USAGE"
SEQUENCE_GRANTS = "USAGE, SELECT, UPDATE"

# Tables created later (by the next migrate) start with what every table may give the hub;
# the rest is granted when that migrate ends (db_roles_after_migrate), so a new audit table
# is never updatable, not even for a moment.
DEFAULT_PRIVILEGES = (
    f"GRANT {AUDIT_TABLE_GRANTS} ON TABLES",
    f"GRANT {AUDIT_SEQUENCE_GRANTS} ON SEQUENCES",
)


def quote(name: str) -> str:
    """A PostgreSQL identifier, quoted (names come from the operator's URLs)."""
    return '"' + name.replace('"', '""') + '"'


def hub_role_name() -> str:
    """The role the hub runs as: the user in ``DATABASE_URL``."""
    user: str = settings.DATABASES[DEFAULT_DB_ALIAS].get("USER") or ""
    owner: str = settings.DATABASES[OWNER_ALIAS].get("USER") or ""
    if not user or user == owner:
        raise ImproperlyConfigured(
            "DATABASE_URL must name a role of its own, other than the one in MIGRATE_DATABASE_URL."
        )
    return user


def db_roles_apply(*, using: str = OWNER_ALIAS) -> str:
    """Create or update the hub's role and its grants on every relation of the schema.

    Idempotent; run as the schema owner (which needs CREATEROLE, or the role made already).
    Returns the role's name."""
    if not roles_separated():
        raise ImproperlyConfigured("Set MIGRATE_DATABASE_URL to the schema owner first (SPEC §6).")
    role = hub_role_name()
    password: str = settings.DATABASES[DEFAULT_DB_ALIAS].get("PASSWORD") or ""
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        cursor.execute("SELECT current_user, current_database(), current_schema()")
        owner, database, schema = cursor.fetchone()
        _role_ensure(cursor, role, password, owner=owner)
        for statement in _grant_statements(schema_relations(cursor), quote(role), database, schema):
            cursor.execute(statement)
    return role


def _role_ensure(cursor: CursorWrapper, role: str, password: str, *, owner: str) -> None:
    # Change only what needs changing: an owner without CREATEROLE can still run this for a
    # role an administrator made right. Two setups may race to create it: the loser's
    # duplicate is not an error.
    cursor.execute("SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s)", [role])
    if cursor.fetchone()[0]:
        cursor.execute(
            "DO $$ BEGIN EXECUTE format('CREATE ROLE %%I LOGIN', %s); "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$",
            [role],
        )
    cursor.execute(
        "SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, NOT rolcanlogin,"
        " pg_has_role(%s, current_user, 'MEMBER') FROM pg_roles WHERE rolname = %s",
        [role, role],
    )
    superuser, createrole, createdb, bypassrls, cannot_login, member_of_owner = cursor.fetchone()
    changes = [
        change
        for change, needed in (
            ("NOSUPERUSER", superuser),
            ("NOCREATEROLE", createrole),
            ("NOCREATEDB", createdb),
            ("NOBYPASSRLS", bypassrls),
            ("LOGIN", cannot_login),
        )
        if needed
    ]
    if changes:
        cursor.execute(f"ALTER ROLE {quote(role)} {' '.join(changes)}")
    if password:
        cursor.execute(f"ALTER ROLE {quote(role)} PASSWORD %s", [password])
    if member_of_owner:
        cursor.execute(f"REVOKE {quote(owner)} FROM {quote(role)}")
    # An install that ran as one role: its tables move to the owner (us).
    cursor.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = %s)",
        [role],
    )
    if cursor.fetchone()[0]:
        cursor.execute(f"REASSIGN OWNED BY {quote(role)} TO CURRENT_USER")


def _grant_statements(relations: list[Relation], role: str, database: str, schema: str) -> list[str]:
    groups: dict[tuple[bool, str], list[str]] = {}
    for relation in relations:
        groups.setdefault((relation.is_sequence, _grants_for(relation)), []).append(quote(relation.name))
    statements = [
        f"GRANT CONNECT ON DATABASE {quote(database)} TO {role}",
        f"GRANT USAGE ON SCHEMA {quote(schema)} TO {role}",
    ]
    for (is_sequence, grants), names in sorted(groups.items()):
        kind = "SEQUENCE" if is_sequence else "TABLE"
        statements.append(f"REVOKE ALL ON {kind} {', '.join(names)} FROM {role}")
        statements.append(f"GRANT {grants} ON {kind} {', '.join(names)} TO {role}")
    statements += [
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {quote(schema)} {grant} TO {role}"
        for grant in DEFAULT_PRIVILEGES
    ]
    return statements


def _grants_for(relation: Relation) -> str:
    if relation.is_sequence:
        return AUDIT_SEQUENCE_GRANTS if relation.is_audit else SEQUENCE_GRANTS
    if relation.is_audit:
        return AUDIT_TABLE_GRANTS
    return TABLE_GRANTS


def db_roles_after_migrate(*, using: str, **kwargs: Any) -> None:
    """post_migrate receiver: re-apply the grants after every migrate run as the owner, so
    tables it created get theirs. ``flush`` also sends post_migrate, without a plan: skip it.
    Both URLs naming one role is left to the system check to report, not a failed migrate."""
    if "plan" not in kwargs or not roles_separated() or using != OWNER_ALIAS:
        return
    if settings.DATABASES[DEFAULT_DB_ALIAS].get("USER") != settings.DATABASES[OWNER_ALIAS].get("USER"):
        db_roles_apply(using=using)
