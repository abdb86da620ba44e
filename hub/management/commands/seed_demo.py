"""``python manage.py seed_demo``: demo templates, contacts, a user per role and an API key."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from hub.demo import DEMO_PASSWORD, demo_seed


class Command(BaseCommand):
    help = "Load demo data (idempotent) and print a fresh demo API key."

    def handle(self, *args: Any, **options: Any) -> None:
        seed = demo_seed()
        self.stdout.write(f"Demo users (password '{DEMO_PASSWORD}'): {', '.join(seed.usernames)}")
        self.stdout.write(f"Demo API key: {seed.api_key}")
