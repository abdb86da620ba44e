"""``python manage.py createapikey NAME [--scope ...]``: print a new key once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hub.apikeys.services import apikey_create


class Command(BaseCommand):
    help = "Create an API key and print it once; only its hash is stored."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument(
            "--scope",
            action="append",
            default=[],
            help="Limit the key, e.g. --scope category:transactional --scope template:order.shipped",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name: str = options["name"].strip()
        if not name:
            raise CommandError("Give the key a name, e.g. createapikey cards-service.")
        issued = apikey_create(name=name, scopes=options["scope"])
        self.stdout.write(issued.raw)
        self.stderr.write(f"Created API key '{name}'. Store it now: it will not be shown again.")
