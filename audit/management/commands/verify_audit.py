"""``python manage.py verify_audit``: check the whole audit log; exit 1 naming the first problem.

``--legacy-chain`` checks the hash chain of the records written before the Merkle log instead."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.notes import NoteError
from audit.selectors import audit_chain_verify
from audit.services import Actor
from audit.verify import audit_log_verify, audit_verification_record


class Command(BaseCommand):
    help = "Check the audit log (every record's leaf, the Merkle tree, every signed tree head) and name the first problem."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--legacy-chain",
            action="store_true",
            help="Check the hash chain of the records written before the Merkle log (and its old checkpoints).",
        )
        parser.add_argument(
            "--public-key",
            action="append",
            help=(
                "Trust tree heads signed by this verifier key (name+id+base64) instead of the hub's own "
                "keys (HUB_AUDIT_SIGNING_KEY_FILE and HUB_AUDIT_TRUSTED_KEYS_FILE); repeat it for the keys "
                "of before a rotation."
            ),
        )

        parser.add_argument(
            "--processes",
            type=int,
            choices=(1, 2),
            default=2,
            help="2 (the default): check the records' contents in a second process while this one "
            "recomputes the tree; 1: both in this process.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        if options["legacy_chain"]:
            self._legacy(started)
            return
        try:
            report = audit_log_verify(trusted_keys=options["public_key"], processes=options["processes"])
        except NoteError as exc:
            raise CommandError(f"--public-key: {exc}") from exc
        elapsed = time.perf_counter() - started
        audit_verification_record(report=report, actor=Actor.system())
        if not report.ok:
            where = f" at record #{report.record}" if report.record is not None else ""
            raise CommandError(f"Audit log BROKEN{where}: {report.problem}.")
        rate = report.checked / elapsed if elapsed > 0 else 0.0
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit log OK: {report.checked} records in the tree and {report.heads} signed tree heads "
                f"verified in {elapsed:.2f}s ({rate:,.0f} records/s); {report.pending} pending."
            )
        )

    def _legacy(self, started: float) -> None:
        report = audit_chain_verify()
        elapsed = time.perf_counter() - started
        if not report.ok:
            raise CommandError(
                f"Audit chain BROKEN at record #{report.broken_seq}: {report.problem} "
                f"({report.checked} records before it verified)."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit chain OK: {report.checked} chained records verified in {elapsed:.2f}s."
            )
        )
