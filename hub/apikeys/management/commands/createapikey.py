"""``python manage.py createapikey NAME [--scope ...]``: print a new key once."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hub.apikeys.services import InvalidScope, apikey_create
from hub.notify.keys import notify_key_create
from hub.notify.models import KeyType


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
        parser.add_argument(
            "--notify",
            action="store_true",
            help="A key in GOV.UK Notify's format ({name}-{service_id}-{secret}) for the /v2/ API.",
        )
        parser.add_argument(
            "--key-type",
            choices=KeyType.values,
            default=None,
            help="With --notify: normal (live), team (only staff-verified addresses) or test (sandbox).",
        )
        parser.add_argument(
            "--service-id",
            type=uuid.UUID,
            default=None,
            help="With --notify: join this Notify service id (default: a new service).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name: str = options["name"].strip()
        if not name:
            raise CommandError("Give the key a name, e.g. createapikey cards-service.")
        if not options["notify"] and (options["key_type"] or options["service_id"]):
            raise CommandError("--key-type and --service-id are for Notify keys: add --notify.")
        if options["notify"] and options["test"] and options["key_type"] not in (None, KeyType.TEST):
            raise CommandError("--test with --notify is --key-type test.")
        limits = {
            "scopes": options["scope"],
            "rate_limit_per_minute": options["rate_limit"],
            "daily_quota": options["daily_quota"],
        }
        try:
            if options["notify"]:
                key_type = KeyType.TEST if options["test"] else (options["key_type"] or KeyType.NORMAL)
                notify = notify_key_create(
                    name=name, key_type=key_type, service_id=options["service_id"], **limits
                )
                raw, what = (
                    notify.raw,
                    f"{key_type} Notify API key '{name}' for service {notify.notify_key.service_id}",
                )
            else:
                raw, what = (
                    apikey_create(name=name, is_test=options["test"], **limits).raw,
                    f"API key '{name}'",
                )
        except InvalidScope as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(raw)
        self.stderr.write(f"Created {what}. Store it now: it will not be shown again.")
