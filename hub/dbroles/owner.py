"""The schema owner's connection: the ``owner`` alias when ``MIGRATE_DATABASE_URL`` is set.

Without it the hub runs as one role, which owns the schema too, and ``default`` is the owner.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import load_backend

OWNER_ALIAS = "owner"


def owner_alias() -> str:
    """The alias that connects as the schema owner (the one ``migrate`` uses)."""
    return OWNER_ALIAS if OWNER_ALIAS in settings.DATABASES else DEFAULT_DB_ALIAS


def roles_separated() -> bool:
    """True when the hub runs as a role of its own, distinct from the schema owner."""
    return OWNER_ALIAS in settings.DATABASES


@contextmanager
def owner_connection(*, alias: str = f"{OWNER_ALIAS}:own") -> Iterator[BaseDatabaseWrapper]:
    """A short-lived connection of its own as the schema owner, closed on exit.

    Not ``connections["owner"]``: tests may open it although they declare only ``default``.
    What it does commits on its own; it cannot see, or join, another connection's open
    transaction."""
    if not roles_separated():
        yield connections[DEFAULT_DB_ALIAS]
        return
    # By default under an alias of its own: Django's tests allow such connections in any test.
    backend = load_backend(settings.DATABASES[OWNER_ALIAS]["ENGINE"])
    connection = backend.DatabaseWrapper(settings.DATABASES[OWNER_ALIAS], alias=alias)
    try:
        yield connection
    finally:
        connection.close()


@contextmanager
def alias_as_owner(alias: str) -> Iterator[None]:
    """Within the block, ``connections[alias]`` connects as the schema owner (for commands such
    as ``flush`` that work on an alias but need the owner's powers)."""
    if not roles_separated() or alias == OWNER_ALIAS:
        yield
        return
    original = connections[alias]
    with owner_connection(alias=alias) as connection:
        connections[alias] = connection
        try:
            yield
        finally:
            connections[alias] = original
