"""Import templates exported elsewhere: each arrives as a draft that needs approval here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from templates_app.services import ImportFailed, templates_import


class Command(BaseCommand):
    help = "Import templates from a JSON export; every changed template becomes a draft needing approval."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The JSON file written by export_templates.")
        # Required: a draft with no author could never be reviewed (maker-checker needs a maker).
        parser.add_argument(
            "--user", required=True, help="Username recorded as the author of the drafts (required)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"No user named {options['user']!r}.")
        try:
            raw = Path(options["file"]).read_text(encoding="utf-8")
            document = json.loads(raw)
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot read {options['file']}: {exc}") from exc
        try:
            report = templates_import(document=document, user=user)
        except ImportFailed as exc:
            raise CommandError("Nothing imported:\n  " + "\n  ".join(exc.problems)) from exc
        self.stdout.write(f"Drafts needing approval: {', '.join(report.drafts) or 'none'}")
        self.stdout.write(f"Unchanged: {', '.join(report.unchanged) or 'none'}")
        if report.created_templates:
            self.stdout.write(f"New templates: {', '.join(report.created_templates)}")
