"""``journeys push FILE --user U``, ``journeys approve KEY --user U``, ``journeys export``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from hub.journeys.definition import InvalidDefinition
from hub.journeys.schema import JOURNEY_SCHEMA
from hub.journeys.services import (
    JourneyWorkflowError,
    journey_approve_submitted,
    journeys_export,
    journeys_push,
)


def _user(username: str) -> User:
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"No user named {username!r}.")
    return user


class Command(BaseCommand):
    help = "Journeys as code: push definitions for approval, approve one, export them, print the schema."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        push = actions.add_parser(
            "push", help="A new version of each journey in FILE, submitted for approval."
        )
        push.add_argument("file", help='A JSON file: one journey definition or {"journeys": [...]}.')
        push.add_argument("--user", required=True, help="Username recorded as the author (required).")
        approve = actions.add_parser("approve", help="Approve the journey's submitted version.")
        approve.add_argument("key", help="The journey's key.")
        approve.add_argument("--user", required=True, help="The approver (never the version's author).")
        approve.add_argument("--comment", default="", help="Why it is approved.")
        export = actions.add_parser("export", help="Write the live definitions as JSON (what push reads).")
        export.add_argument("keys", nargs="*", help="Journey keys (default: all).")
        export.add_argument("--output", "-o", help="File to write (default: standard output).")
        actions.add_parser("schema", help="Print the JSON schema of a journey definition.")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "push":
            self._push(options)
        elif action == "approve":
            self._approve(options)
        elif action == "schema":
            self.stdout.write(json.dumps(JOURNEY_SCHEMA, indent=2))
        else:
            self._export(options)

    def _push(self, options: dict[str, Any]) -> None:
        author = _user(options["user"])
        try:
            document = json.loads(Path(options["file"]).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot read {options['file']}: {exc}") from exc
        try:
            versions = journeys_push(document=document, author=author)
        except InvalidDefinition as exc:
            raise CommandError("Nothing pushed:\n" + "\n".join(f"  {p}" for p in exc.problems)) from exc
        except JourneyWorkflowError as exc:
            raise CommandError(f"Nothing pushed: {exc}") from exc
        for version in versions:
            self.stdout.write(f"{version.journey.key} v{version.number}: submitted for approval")

    def _approve(self, options: dict[str, Any]) -> None:
        approver = _user(options["user"])
        try:
            version = journey_approve_submitted(
                key=options["key"], approver=approver, comment=options["comment"]
            )
        except JourneyWorkflowError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{options['key']} v{version.number}: approved, now live")

    def _export(self, options: dict[str, Any]) -> None:
        document = journeys_export(keys=options["keys"])
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        if options["output"]:
            Path(options["output"]).write_text(text, encoding="utf-8")
            self.stderr.write(f"Exported {len(document['journeys'])} journey(s) to {options['output']}.")
        else:
            self.stdout.write(text, ending="")
