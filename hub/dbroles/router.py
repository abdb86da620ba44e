"""While ``migrate`` runs, every query goes to the database it migrates.

Data migrations and post_migrate receivers often use ``Model.objects`` without ``using``; the
router sends those to the migrating (owner) connection, not to the hub's role, which may not
have its grants yet, or (in tests) not yet point at the new test database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_migrating: ContextVar[str | None] = ContextVar("hub_dbroles_migrating", default=None)


@contextmanager
def migrating(alias: str) -> Iterator[None]:
    token = _migrating.set(alias)
    try:
        yield
    finally:
        _migrating.reset(token)


class MigratingDatabaseRouter:
    """Routes reads and writes to the database being migrated, and has no say otherwise."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        return _migrating.get()

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        return _migrating.get()
