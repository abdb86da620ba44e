"""Editing the audit table by hand, as an attacker with superuser access would.

In PostgreSQL the append-only triggers are disabled around the edit (ALTER TABLE ... DISABLE
TRIGGER, which needs the table owner or a superuser) and enabled again after it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


@contextmanager
def triggers_disabled(table: str = "audit_auditrecord") -> Iterator[None]:
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
    """Run one raw statement against the audit table with its triggers disabled."""
    with triggers_disabled(table), connection.cursor() as cursor:
        cursor.execute(sql, params)
