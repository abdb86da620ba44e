"""``python manage.py verify_audit``: recompute the audit hash chain; exit 1 if it is broken."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.selectors import audit_chain_verify


class Command(BaseCommand):
    help = "Check the audit trail's hash chain and name the first broken record."

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        report = audit_chain_verify()
        elapsed = time.perf_counter() - started
        if not report.ok:
            raise CommandError(
                f"Audit chain BROKEN at record #{report.broken_seq}: {report.problem} "
                f"({report.checked} records before it verified)."
            )
        rate = report.checked / elapsed if elapsed > 0 else 0.0
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit chain OK: {report.checked} records verified in {elapsed:.2f}s "
                f"({rate:,.0f} records/s)."
            )
        )
