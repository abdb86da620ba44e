"""``python manage.py bench``: throughput figures beside a naive baseline, as a table and JSON.

Runs against the configured database and broker (PostgreSQL and Redis for real figures),
with the fake Twilio server from ``tests/fakes`` as the SMS provider. Sizes are options;
``--smoke`` is a tiny run for CI.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from hub.bench.dispatch import CallCounter, dispatch_run
from hub.bench.micro import renders_per_second


class Command(BaseCommand):
    help = "Measure dispatch throughput (real pipeline vs naive baseline) and single-core rates."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--messages", type=int, default=20000, help="messages for the real pipeline")
        parser.add_argument(
            "--naive-messages", type=int, default=2000, help="messages for the naive baseline"
        )
        parser.add_argument("--workers", type=int, default=2, help="worker processes")
        parser.add_argument("--concurrency", type=int, default=2, help="prefork children per worker")
        parser.add_argument("--renders", type=int, default=20000, help="renders for the render rate")
        parser.add_argument("--timeout", type=float, default=900.0, help="seconds before a run is abandoned")
        parser.add_argument("--json", dest="json_path", default="", help="where to write the JSON results")
        parser.add_argument("--smoke", action="store_true", help="tiny sizes, for CI")
        parser.add_argument(
            "--soak",
            type=int,
            default=0,
            metavar="N",
            help="instead: a soak of N messages with provider errors injected (hub.bench.soak)",
        )
        parser.add_argument("--error-rate", type=float, default=0.15, help="soak: failures per call")

    def handle(self, *args: Any, **options: Any) -> None:
        from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, start_fake_twilio

        if options["soak"]:
            from hub.bench.soak import soak_command

            soak_command(options, write=self.stdout.write)
            return
        if options["smoke"]:
            options.update(messages=200, naive_messages=100, renders=500, workers=1)
        broker = settings.CELERY_BROKER_URL
        twilio = start_fake_twilio()
        env = {
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_FROM_NUMBER": FROM_NUMBER,
            "TWILIO_API_BASE_URL": twilio.base_url,
        }
        calls = CallCounter(twilio)
        common = {
            "workers": options["workers"],
            "concurrency": options["concurrency"],
            "broker_url": broker,
            "provider_env": env,
            "calls": calls,
            "timeout": options["timeout"],
        }
        try:
            real = dispatch_run(name="pipeline", count=options["messages"], naive=False, **common)
            naive = dispatch_run(name="naive", count=options["naive_messages"], naive=True, **common)
        finally:
            twilio.stop()
        renders = renders_per_second(count=options["renders"])

        ratio = real.per_second / naive.per_second if naive.per_second else 0.0
        rows = [
            (
                "P1 dispatch, accepted → provider ack → status + audit",
                f"{real.per_second:,.0f} msg/s",
                f"{naive.per_second:,.0f} msg/s",
                f"{ratio:.1f}x",
                "≥ 3,000 msg/s and ≥ 15x",
            ),
            ("Template renders (one core)", f"{renders:,.0f} /s", "", "", ""),
        ]
        self._table(rows)
        results = {
            "at": datetime.now(UTC).isoformat(),
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
            "broker": broker.split("://")[0],
            "options": {
                k: options[k] for k in ("messages", "naive_messages", "workers", "concurrency", "renders")
            },
            "p1_dispatch": {
                "pipeline_per_s": real.per_second,
                "pipeline_seconds": real.seconds,
                "pipeline_messages": real.messages,
                "pipeline_provider_calls": real.provider_calls,
                "naive_per_s": naive.per_second,
                "naive_seconds": naive.seconds,
                "naive_messages": naive.messages,
                "naive_provider_calls": naive.provider_calls,
                "ratio": ratio,
            },
            "renders_per_s": renders,
        }
        path = Path(
            options["json_path"]
            or settings.VAR_DIR / "bench" / f"bench-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2))
        self.stdout.write(f"\nJSON written to {path}")
        if real.provider_calls != real.messages or naive.provider_calls != naive.messages:
            self.stderr.write("WARNING: provider calls differ from messages sent (see JSON).")

    def _table(self, rows: Sequence[tuple[str, ...]]) -> None:
        header = ("figure", "pipeline", "naive", "ratio", "target")
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        line = "  ".join("-" * w for w in widths)
        self.stdout.write(line)
        self.stdout.write("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
        self.stdout.write(line)
        for row in rows:
            self.stdout.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
        self.stdout.write(line)
