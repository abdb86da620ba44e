"""Editing the audit table by hand, as an attacker with the schema owner's powers would.

The edit runs as the owner (MIGRATE_DATABASE_URL, else the hub's one role): the hub's own role
can do none of it (tests/hub/dbroles). The append-only triggers are disabled around the edit
(ALTER TABLE ... DISABLE TRIGGER, which needs the table owner) and enabled again after it.
With two roles the owner's connection is a separate one: it sees only committed rows, so a
test that tampers must commit them (``transactional_db``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection as test_connection
from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from hub.dbroles.owner import owner_connection


@contextmanager
def triggers_disabled(connection: BaseDatabaseWrapper, table: str) -> Iterator[None]:
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_refuse_update")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {table}_refuse_update")


def tamper_sql(
    sql: str, params: list[str | bytes | int] | None = None, *, table: str = "audit_auditrecord"
) -> None:
    """Run one raw statement against the audit table as its owner, with its triggers disabled."""
    with (
        owner_connection() as connection,
        triggers_disabled(connection, table),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, params)


def run_sql(*statements: str) -> None:
    """Run statements as the test's own role, in one savepoint, so a refused one leaves the
    test's transaction usable."""
    with transaction.atomic(), test_connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
