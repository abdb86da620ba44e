"""``python manage.py rollups_backfill``: rebuild the reports' rollups from the messages'
timelines (status and engagement events). Idempotent: a second run gives the same rows."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from hub.messaging.rollups import rollups_rebuild


class Command(BaseCommand):
    help = "Rebuild the report rollups from existing message events (safe to run again)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--chunk-size", type=int, default=2000, help="Messages read per query.")

    def handle(self, *args: Any, **options: Any) -> None:
        def progress(done: int, total: int) -> None:
            self.stdout.write(f"{done}/{total} messages")

        report = rollups_rebuild(chunk_size=options["chunk_size"], progress=progress)
        self.stdout.write(
            self.style.SUCCESS(
                f"Rebuilt {report.daily_rows} daily rollup row(s) and {report.decision_rows} decision "
                f"row(s) from {report.events} event(s) of {report.messages} message(s)."
            )
        )
