"""``python manage.py createapikey NAME [--scope ...]``: print a new key once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hub.apikeys.services import InvalidScope, apikey_create


class Command(BaseCommand):
    help = "Create an API key and print it once; only its hash is stored."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument(
            "--scope",
            action="append",
            default=[],
            help=(
                "Limit the key, e.g. --scope send --scope category:transactional --scope "
                "template:order.shipped; --scope read makes a read-only key; contacts:write lets it "
                "change contacts. No --scope: the key may do everything."
            ),
        )
        parser.add_argument("--test", action="store_true", help="A test key: always the sandbox.")
        parser.add_argument("--rate-limit", type=int, default=None, help="Requests per minute.")
        parser.add_argument("--daily-quota", type=int, default=None, help="Notifications per UTC day.")

    def handle(self, *args: Any, **options: Any) -> None:
        name: str = options["name"].strip()
        if not name:
            raise CommandError("Give the key a name, e.g. createapikey cards-service.")
        try:
            issued = apikey_create(
                name=name,
                scopes=options["scope"],
                is_test=options["test"],
                rate_limit_per_minute=options["rate_limit"],
                daily_quota=options["daily_quota"],
            )
        except InvalidScope as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(issued.raw)
        self.stderr.write(f"Created API key '{name}'. Store it now: it will not be shown again.")
