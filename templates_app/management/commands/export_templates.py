"""Write templates (live content, no approvals) as JSON, for promotion between environments."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from templates_app.services import templates_export


class Command(BaseCommand):
    help = "Export templates as JSON (live content, or the latest draft when none is live)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("keys", nargs="*", help="Template keys (default: all).")
        parser.add_argument("--output", "-o", help="File to write (default: standard output).")

    def handle(self, *args: Any, **options: Any) -> None:
        document = templates_export(keys=options["keys"] or None)
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        if options["output"]:
            Path(options["output"]).write_text(text, encoding="utf-8")
            self.stderr.write(f"Exported {len(document['templates'])} template(s) to {options['output']}.")
        else:
            self.stdout.write(text, ending="")
