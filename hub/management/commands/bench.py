"""``python manage.py bench``: throughput figures beside a naive baseline, as a table and JSON.

The bench itself is the top-level ``bench`` package of a source checkout (with the fake
providers it shares with the tests); it is not installed with the hub, so it is imported only
when this command runs. See ``bench/command.py`` and docs/performance.md.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

NOT_INSTALLED = (
    "python manage.py bench runs from a source checkout of Switchboard: "
    "its bench/ package is not installed with the hub."
)


def _bench() -> ModuleType | None:
    try:
        from bench import command
    except ModuleNotFoundError as exc:
        if exc.name != "bench":
            raise
        return None
    return command


class Command(BaseCommand):
    help = "Measure dispatch throughput (real pipeline vs naive baseline) and single-core rates."

    def add_arguments(self, parser: CommandParser) -> None:
        bench = _bench()
        if bench is not None:
            bench.Bench.add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        bench = _bench()
        if bench is None:
            raise CommandError(NOT_INSTALLED)
        bench.Bench(self.stdout, self.stderr).handle(**options)
