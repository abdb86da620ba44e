"""Real PostgreSQL refusals for tests: a table another session holds locked while this
session's statements may wait only briefly, so the server itself answers with an error (as it
does while a migration holds the table, or the server fails over or runs out of disk)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from django.db import connection, connections


@contextmanager
def table_refusing(model: Any, *, wait: str = "300ms") -> Iterator[None]:
    """While inside, every statement of the test's connection touching ``model``'s table fails
    with PostgreSQL's lock_timeout error (an OperationalError). Needs transaction=True tests."""
    owner = connections["owner" if "owner" in connections.settings else "default"].settings_dict
    with connection.cursor() as cursor:
        # set_config, not SET: a SET takes no bound parameter when the server binds them.
        cursor.execute("SELECT set_config('lock_timeout', %s, false)", [wait])
    try:
        with psycopg.connect(
            host=owner["HOST"], port=owner["PORT"] or 5432, user=owner["USER"], dbname=owner["NAME"]
        ) as other:
            other.execute(f"LOCK TABLE {model._meta.db_table} IN ACCESS EXCLUSIVE MODE")
            yield
            other.rollback()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
