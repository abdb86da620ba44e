"""``migrate`` as the schema owner: ``MIGRATE_DATABASE_URL`` when it is set (SPEC §6).

Django's own command, with ``--database`` defaulting to the owner's alias, and every query
made while it runs (data migrations, post_migrate receivers) sent to that database.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser
from django.core.management.commands import migrate

from hub.dbroles.owner import owner_alias
from hub.dbroles.router import migrating


class Command(migrate.Command):
    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.set_defaults(database=owner_alias())

    def handle(self, *args: Any, **options: Any) -> None:
        with migrating(options["database"]):
            super().handle(*args, **options)
