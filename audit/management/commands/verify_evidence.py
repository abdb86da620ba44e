"""``python manage.py verify_evidence FILE --public-key KEY``: check an evidence pack offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.evidence import evidence_verify
from audit.notes import NoteError


class Command(BaseCommand):
    help = (
        "Check an exported evidence pack without the database: the signed tree head against the "
        "public key, and each record's inclusion proof against it."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The evidence pack (zip).")
        parser.add_argument(
            "--public-key",
            required=True,
            action="append",
            help=(
                "The log's verifier key, name+id+base64 (from /.well-known/switchboard-audit-key, obtained "
                "independently). Repeat it to trust the keys the log signed with before a rotation too."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = evidence_verify(Path(options["file"]).read_bytes(), public_keys=options["public_key"])
        except (OSError, NoteError, KeyError, ValueError) as exc:
            raise CommandError(f"Evidence pack UNREADABLE: {exc}") from exc
        if not report.ok:
            raise CommandError("Evidence pack FAILED:\n" + "\n".join(report.failures))
        assert report.head is not None  # noqa: S101 - ok implies a head
        pending = (
            f"; {len(report.unproven)} record(s) newer than the pack's tree head, not proven: "
            + ", ".join(f"#{seq}" for seq in report.unproven)
            if report.unproven
            else ""
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Evidence pack OK: {report.proven} records proven in the log {report.head.origin} "
                f"of {report.head.size} records (signed tree head verified){pending}."
            )
        )
