"""``python manage.py seed_demo``: demo templates, contacts, a user per role and an API key.

The demo users share a published password and the key is printed: with DEBUG off (a real
deployment) the command refuses unless ``--force`` says that is really wanted.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from hub.demo import DEMO_PASSWORD, demo_seed


class Command(BaseCommand):
    help = "Load demo data (idempotent) and print a fresh demo API key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="seed even with DEBUG off (demo users get a known password)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "DEBUG is off: seed_demo would create staff users with a published password and an "
                "API key. Use --force if this hub really is a demo."
            )
        seed = demo_seed()
        self.stdout.write(f"Demo users (password '{DEMO_PASSWORD}'): {', '.join(seed.usernames)}")
        self.stdout.write(f"Demo API key: {seed.api_key}")
        self.stdout.write(f"Demo GOV.UK Notify API key (for /v2/): {seed.notify_api_key}")
        for key, template_id in seed.notify_templates.items():
            self.stdout.write(f"Notify template {key}: {template_id}")
