"""What ``python manage.py bench`` runs: throughput figures beside a naive baseline, as a table
and JSON (the command in ``hub/management/commands/bench.py`` imports this module when it runs).

Runs against the configured database and broker (PostgreSQL and Redis for real figures),
with the fake Twilio server from ``bench/fakes`` as the SMS provider. Sizes are options;
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
from django.core.management.base import CommandError, CommandParser, OutputWrapper

from bench.decisions import bench_decisions
from bench.dispatch import (
    CallCounter,
    DispatchFigure,
    WorkerSetup,
    bench_workers,
    dispatch_run,
    fake_providers,
)
from bench.figures import (
    FIGURES,
    ON_REQUEST,
    add_figure_arguments,
    measure_figures,
    measure_sends,
    smoke_sizes,
)
from bench.fixtures import bench_database_refusal
from bench.journeys import JOURNEY_FIGURES, add_journey_arguments, measure_journeys
from bench.micro import renders_per_second
from bench.profiling import profile_summary
from bench.workers import run_dir

P1_TARGET = "≥ 3,000 msg/s and ≥ 15x"
P1_LABELS = {
    "email": "P1 dispatch email (SendGrid, batched personalizations)",
    "sms": "P1 dispatch SMS (Twilio, one call each, async SDK client)",
}


class Bench:
    """The bench's options and its run, writing to the command's ``stdout`` and ``stderr``."""

    def __init__(self, stdout: OutputWrapper, stderr: OutputWrapper) -> None:
        self.stdout = stdout
        self.stderr = stderr

    @staticmethod
    def add_arguments(parser: CommandParser) -> None:
        parser.add_argument(
            "--messages", type=int, default=20000, help="messages per channel for the real pipeline"
        )
        parser.add_argument(
            "--naive-messages", type=int, default=2000, help="messages per channel for the naive baseline"
        )
        parser.add_argument(
            "--channels", default="email,sms", help="P1 channels, comma-separated (email, sms)"
        )
        parser.add_argument("--batch-size", type=int, default=500, help="messages per send task (pipeline)")
        parser.add_argument("--workers", type=int, default=2, help="worker processes")
        parser.add_argument("--concurrency", type=int, default=2, help="prefork children per worker")
        parser.add_argument("--prefetch", type=int, default=2, help="tasks each child reserves ahead")
        parser.add_argument("--renders", type=int, default=20000, help="renders for the render rate")
        parser.add_argument(
            "--decisions", type=int, default=200000, help="compliance decisions for the decision rate"
        )
        parser.add_argument("--timeout", type=float, default=900.0, help="seconds before a run is abandoned")
        parser.add_argument("--json", dest="json_path", default="", help="where to write the JSON results")
        parser.add_argument(
            "--profile",
            action="store_true",
            help="P1, P2: cProfile the workers' tasks and print where their time went (slows the run)",
        )
        parser.add_argument("--smoke", action="store_true", help="tiny sizes, for CI")
        parser.add_argument(
            "--soak",
            type=int,
            default=0,
            metavar="N",
            help="instead: a soak of N messages with provider errors injected (bench.soak)",
        )
        parser.add_argument("--error-rate", type=float, default=0.15, help="soak: failures per call")
        parser.add_argument(
            "--only",
            default=",".join(FIGURES),
            help=f"figures to measure, of {','.join(FIGURES)} (default) and "
            f"{','.join((*JOURNEY_FIGURES, *ON_REQUEST))}",
        )
        add_figure_arguments(parser)
        add_journey_arguments(parser)

    def handle(self, **options: Any) -> None:
        from bench.fakes.twilio import fake_twilio_env, start_fake_twilio

        if refusal := bench_database_refusal():
            raise CommandError(refusal)
        if options["soak"]:
            from bench.soak import soak_command

            soak_command(options, write=self.stdout.write)
            return
        if options["smoke"]:
            options.update(
                messages=200,
                naive_messages=100,
                renders=500,
                decisions=2000,
                workers=1,
                batch_size=100,
                **smoke_sizes(),
                journey_runs=200,
                journey_events=200,
                journey_waiting=2000,
            )
        only = {f.strip().lower() for f in options["only"].split(",") if f.strip()}
        if note := autovacuum_note(database_autovacuum()):
            self.stdout.write(note)
        broker = settings.CELERY_BROKER_URL
        twilio = start_fake_twilio(keep_calls=False)  # counts only: P6 runs to a million calls
        env = fake_twilio_env(twilio)
        calls = CallCounter(twilio)
        common = {
            "workers": options["workers"],
            "concurrency": options["concurrency"],
            "broker_url": broker,
            "provider_env": env,
            "calls": calls,
            "timeout": options["timeout"],
        }
        rows: list[tuple[str, ...]] = []
        results: dict[str, Any] = {}
        try:
            rows, results = measure_sends(only, options, broker, log=self.stdout.write)
            if "p1" in only:
                p1_rows, p1_results = self._p1(options)
                rows += p1_rows
                results.update(p1_results)
            drain_profile = (
                run_dir("bench-profile-p2-") if options["profile"] and only & {"p2", "p4", "p6"} else None
            )
            options["profile_dir"] = str(drain_profile) if drain_profile else ""
            more_rows, more_results = measure_figures(only, options, common, log=self.stdout.write)
            if drain_profile is not None:
                self.stdout.write(profile_summary(drain_profile))
            if only & set(JOURNEY_FIGURES):
                journey_rows, journey_results = measure_journeys(only, options, broker, log=self.stdout.write)
                rows += journey_rows
                results.update(journey_results)
        finally:
            twilio.stop()
        if "renders" in only:
            renders = renders_per_second(count=options["renders"])
            rows.append(("Template renders (one core)", f"{renders:,.0f} /s", "", "", ""))
            results["renders_per_s"] = renders
            decisions = bench_decisions(options["decisions"])
            rows.append(("Compliance decisions (one core)", f"{decisions.per_second:,.0f} /s", "", "", ""))
            results["decisions_per_s"] = decisions.per_second
            results["decision_outcomes"] = decisions.outcomes
        rows += more_rows
        results.update(more_results)
        self._table(rows)
        results = {
            "at": datetime.now(UTC).isoformat(),
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
                "load_average_after": [round(x, 2) for x in os.getloadavg()],
            },
            "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
            "broker": broker.split("://")[0],
            "options": {
                k: v for k, v in options.items() if isinstance(v, int | float | str) and k != "json_path"
            },
            **results,
        }
        path = Path(
            options["json_path"]
            or settings.VAR_DIR / "bench" / f"bench-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2))
        self.stdout.write(f"\nJSON written to {path}")

    def _p1(self, options: dict[str, Any]) -> tuple[list[tuple[str, ...]], dict[str, Any]]:
        """P1 per channel, the pipeline beside the naive baseline on the same workers, with the
        fake providers in a process of their own."""
        channels = [c.strip() for c in options["channels"].split(",") if c.strip()]
        profile_dir = run_dir("bench-profile-") if options["profile"] else None
        setup = WorkerSetup(
            workers=options["workers"],
            concurrency=options["concurrency"],
            prefetch=options["prefetch"],
            broker_url=settings.CELERY_BROKER_URL,
            profile_dir=str(profile_dir) if profile_dir else "",
        )
        p1: dict[str, tuple[DispatchFigure, DispatchFigure]] = {}
        with fake_providers() as providers, bench_workers(setup, providers, channels) as worker_pids:
            for channel in channels:
                runs = {
                    name: dispatch_run(
                        name=f"{name}-{channel}",
                        channel=channel,
                        count=options["naive_messages" if name == "naive" else "messages"],
                        batch_size=options["batch_size"],
                        naive=name == "naive",
                        timeout=options["timeout"],
                        providers=providers,
                        worker_pids=worker_pids,
                    )
                    for name in ("pipeline", "naive")
                }
                p1[channel] = (runs["pipeline"], runs["naive"])
        if profile_dir is not None:
            self.stdout.write(profile_summary(profile_dir))
        rows: list[tuple[str, ...]] = [
            (
                P1_LABELS.get(channel, f"P1 dispatch {channel}"),
                f"{real.per_second:,.0f} msg/s",
                f"{naive.per_second:,.0f} msg/s",
                f"{_ratio(real, naive):.1f}x",
                P1_TARGET,
            )
            for channel, (real, naive) in p1.items()
        ]
        for pair in p1.values():
            for figure in pair:
                if figure.cpu:
                    spent = ", ".join(f"{k} {v:.3f}" for k, v in figure.cpu_ms_per_message().items())
                    self.stdout.write(f"CPU ms per message, {figure.name}: {spent}")
                self.stdout.write(
                    f"Lock waits, {figure.name}: {figure.audit_lock_waits} on audit tables, "
                    f"{figure.lock_waits} in all, over {figure.lock_samples} samples of pg_stat_activity"
                )
                # Every message reached the provider once; email shares calls between recipients.
                if figure.provider_units != figure.messages:
                    self.stderr.write(
                        f"WARNING: {figure.name}: provider received ≠ messages sent (see JSON)."
                    )
        return rows, {
            "p1_dispatch": {
                channel: {
                    "pipeline_per_s": real.per_second,
                    "pipeline_seconds": real.seconds,
                    "pipeline_messages": real.messages,
                    "pipeline_provider_calls": real.provider_calls,
                    "pipeline_provider_units": real.provider_units,
                    "naive_per_s": naive.per_second,
                    "naive_seconds": naive.seconds,
                    "naive_messages": naive.messages,
                    "naive_provider_calls": naive.provider_calls,
                    "pipeline_cpu_ms_per_message": real.cpu_ms_per_message(),
                    "naive_cpu_ms_per_message": naive.cpu_ms_per_message(),
                    "ratio": _ratio(real, naive),
                    "pipeline_audit_lock_waits": real.audit_lock_waits,
                    "pipeline_lock_waits": real.lock_waits,
                    "pipeline_lock_samples": real.lock_samples,
                }
                for channel, (real, naive) in p1.items()
            },
        }

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


def database_autovacuum() -> str | None:
    """PostgreSQL's ``autovacuum`` setting (``on``/``off``); None on another database."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        row = cursor.fetchone()
    return str(row[0]) if row else None


def autovacuum_note(setting: str | None) -> str:
    """What the run must say when the server does not vacuum: a bench database kept between
    runs then collects the dead rows of every status change (865,000 on the messages table
    after a morning's runs on one such machine), and the periodic reads of queued messages step
    over them: figures drift run after run. Nothing when it vacuums, or on another database."""
    if setting != "off":
        return ""
    return (
        "Note: PostgreSQL's autovacuum is off on this server. A bench database kept between runs "
        "collects dead rows run after run, and the figures drift with them: measure on a fresh "
        "database, or run VACUUM ANALYZE on it first (production keeps autovacuum on: "
        "docs/deploying.md)."
    )


def _ratio(real: DispatchFigure, naive: DispatchFigure) -> float:
    return real.per_second / naive.per_second if naive.per_second else 0.0
