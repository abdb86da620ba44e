"""Figures P2-P6 for ``manage.py bench``: their options, their smoke sizes, and their rows of
the table and keys of the JSON. Each figure is measured by its own module; the load average
(``os.getloadavg``, as ``uptime`` shows it) is noted beside each, the machine being shared."""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from dataclasses import asdict
from typing import Any

from django.core.management.base import CommandParser
from django.db import connection

from bench.api_accepts import api_accepts
from bench.broadcast import DrainRun, broadcast_drain
from bench.dispatch import WorkerSetup
from bench.memory import MemoryFigure
from bench.memory_run import dispatch_memory_run
from bench.search import search_bench

FIGURES = ("p1", "p2", "p3", "p4", "p5", "p6", "renders")

Row = tuple[str, ...]


def add_figure_arguments(parser: CommandParser) -> None:
    add = parser.add_argument
    add("--p2-recipients", type=int, default=100_000, help="P2/P4: recipients of the broadcast")
    add("--p3-servers", type=int, default=2, help="P3: gunicorn worker processes")
    add("--p3-threads", type=int, default=4, help="P3: threads per gunicorn worker (0: sync workers)")
    add("--p3-connections", type=int, default=16, help="P3: keep-alive connections of the load generator")
    add("--p3-seconds", type=float, default=15.0, help="P3: seconds of load (after a warm-up)")
    add("--p3-warmup", type=float, default=3.0, help="P3: seconds of load not counted")
    add("--p4-rate", type=float, default=5.0, help="P4: transactional notifications per second")
    add("--p5-records", type=int, default=10_000_000, help="P5: audit records in the trail")
    add("--p5-messages", type=int, default=2_000_000, help="P5: messages to search among")
    add("--p5-repeats", type=int, default=20, help="P5: times each kind of search runs")
    add("--p6-messages", type=int, default=100_000, help="P6: messages the workers' memory is followed over")
    add(
        "--p6-via",
        choices=("broadcast", "dispatch"),
        default="broadcast",
        help="P6: a broadcast drained by the workers (as P2), or queued messages sent at the P1 rate "
        "(bench.memory_run: fast enough for 1,000,000)",
    )
    add("--p6-channel", choices=("sms", "email"), default="sms", help="P6 via dispatch: the channel")
    add("--beat-interval", type=float, default=5.0, help="seconds between broadcast releases (beat)")


def smoke_sizes() -> dict[str, Any]:
    return {
        "p2_recipients": 200,
        "p3_servers": 1,
        "p3_threads": 2,
        "p3_connections": 2,
        "p3_seconds": 1.0,
        "p3_warmup": 0.3,
        "p4_rate": 10.0,
        "p5_records": 3000,
        "p5_messages": 1000,
        "p5_repeats": 1,
        "p6_messages": 200,
    }


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _cpu_note(ms: dict[str, float], per: str) -> str:
    """``; CPU ms/request: gunicorn 20.10, postgres 5.30`` (empty where /proc is not read)."""
    return f"; CPU ms/{per}: " + ", ".join(f"{k} {v:.2f}" for k, v in ms.items()) if ms else ""


def _drain_rows(
    run: DrainRun, load: float, *, p2: bool, p4: bool, probe_rate: float
) -> tuple[list[Row], dict[str, Any]]:
    rows: list[Row] = []
    results: dict[str, Any] = {}
    b = run.broadcast
    if p2:
        rows.append(
            (
                f"P2 broadcast to {b.recipients:,}: API answer → all sent + audited [load {load}]",
                f"{b.seconds:,.1f} s ({b.per_second:,.0f} msg/s)",
                "",
                "",
                "≤ 30 s for 100,000",
            )
        )
        results["p2_broadcast"] = {
            **asdict(b),
            "per_s": b.per_second,
            "cpu_ms_per_message": b.cpu_ms_per_message(),
            "load": load,
        }
    if p4 and run.latency is not None:
        lat = run.latency
        rows.append(
            (
                f"P4 transactional accept → hand-off, {probe_rate:g}/s during P2 [load {load}]",
                f"p99 {lat.p99_ms:,.0f} ms (p50 {lat.p50_ms:,.0f}, {lat.handed_off}/{lat.probes} handed off)",
                "",
                "",
                "p99 ≤ 1,000 ms",
            )
        )
        results["p4_latency"] = {
            **asdict(lat),
            "rate_per_s": probe_rate,
            "load": load,
            "during_broadcast_of": b.recipients,
        }
    return rows, results


def _memory_rows(mem: MemoryFigure, load: float, via: str) -> tuple[list[Row], dict[str, Any]]:
    row = (
        f"P6 worker RSS over {mem.messages:,} messages ({via}), first → last 10% [load {load}]",
        f"{mem.first_mb:,.0f} → {mem.last_mb:,.0f} MB ({mem.change:+.1%})",
        "",
        "",
        "within ±10% over 1,000,000",
    )
    processes = [{**asdict(p), "change": p.change} for p in mem.processes]
    return [row], {
        "p6_memory": {
            **asdict(mem),
            "processes": processes,
            "change": mem.change,
            "flat": mem.flat,
            "via": via,
            "load": load,
        }
    }


def _memory_lines(mem: MemoryFigure) -> list[str]:
    """Each worker process's resident set, first → last 10% of the messages, and its largest."""
    return [
        f"P6 {p.role} {p.pid}: {p.first_mb:,.0f} → {p.last_mb:,.0f} MB ({p.change:+.1%}), max {p.peak_mb:,.0f} MB"
        for p in mem.processes
    ]


def _memory_measure(
    options: dict[str, Any], common: dict[str, Any], drain: dict[str, Any], runs: dict[int, DrainRun]
) -> MemoryFigure:
    size = options["p6_messages"]
    if options["p6_via"] == "dispatch":
        setup = WorkerSetup(
            workers=options["workers"],
            concurrency=options["concurrency"],
            prefetch=options["prefetch"],
            broker_url=common["broker_url"],
        )
        return dispatch_memory_run(
            messages=size,
            channel=options["p6_channel"],
            setup=setup,
            batch_size=options["batch_size"],
            timeout=options["timeout"],
        )
    if size not in runs:
        runs[size] = broadcast_drain(recipients=size, **drain)
    return runs[size].memory


def measure_figures(
    only: Collection[str], options: dict[str, Any], common: dict[str, Any], *, log: Callable[[str], Any]
) -> tuple[list[Row], dict[str, Any]]:
    """Measure the selected figures among P2-P6; returns their table rows and JSON keys."""
    rows: list[Row] = []
    results: dict[str, Any] = {}
    drain = {
        **common,
        "beat_interval": options["beat_interval"],
        "profile_dir": options.get("profile_dir", ""),
    }
    runs: dict[int, DrainRun] = {}
    if "p2" in only or "p4" in only:
        log(f"P2/P4: broadcast to {options['p2_recipients']:,} recipients ...")
        size = options["p2_recipients"]
        rate = options["p4_rate"] if "p4" in only else 0.0
        runs[size] = broadcast_drain(recipients=size, probe_rate=rate, **drain)
        b = runs[size].broadcast
        spent = ", ".join(f"{k} {v:.3f}" for k, v in b.cpu_ms_per_message().items())
        log(f"P2: API POST {b.api_seconds:.2f} s; CPU ms per recipient: {spent}")
        more, found = _drain_rows(runs[size], _load(), p2="p2" in only, p4="p4" in only, probe_rate=rate)
        rows += more
        results.update(found)
    if "p6" in only:
        log(f"P6: {options['p6_messages']:,} messages ({options['p6_via']}), sampling worker memory ...")
        memory = _memory_measure(options, common, drain, runs)
        more, found = _memory_rows(memory, _load(), options["p6_via"])
        for line in _memory_lines(memory):
            log(line)
        rows += more
        results.update(found)
    if "p3" in only:
        log("P3: API accepts behind gunicorn ...")
        accepts = api_accepts(
            servers=options["p3_servers"],
            threads=options["p3_threads"],
            connections=options["p3_connections"],
            seconds=options["p3_seconds"],
            warmup=options["p3_warmup"],
            broker_url=common["broker_url"],
        )
        load = _load()
        rows.append(
            (
                f"P3 API accepts, gunicorn {accepts.servers}x"
                + (f"{accepts.threads} threads, " if accepts.threads else "sync, ")
                + f"{accepts.connections} conns [load {load}]",
                f"{accepts.per_second:,.0f} req/s, p50 {accepts.p50_ms:,.0f} / p99 {accepts.p99_ms:,.0f} ms"
                + (f", {accepts.errors:,} NOT 202" if accepts.errors else "")
                + _cpu_note(accepts.cpu_ms_per_request(), "request"),
                "",
                "",
                "≥ 1,000 req/s, p99 ≤ 50 ms",
            )
        )
        results["p3_accepts"] = {
            **asdict(accepts),
            "cpu_ms_per_request": accepts.cpu_ms_per_request(),
            "load": load,
        }
    if "p5" in only and connection.vendor != "postgresql":
        rows.append(("P5 workspace search and verify_audit", "skipped: needs PostgreSQL", "", "", ""))
    elif "p5" in only:
        log(f"P5: {options['p5_records']:,} audit records, {options['p5_messages']:,} messages ...")
        found5 = search_bench(
            records=options["p5_records"], messages=options["p5_messages"], repeats=options["p5_repeats"]
        )
        load = _load()
        rows.append(
            (
                f"P5 workspace search, {found5.records:,} records, {found5.queries} pages [load {load}]",
                f"p95 {found5.p95_ms:,.1f} ms (p50 {found5.p50_ms:,.1f})",
                "",
                "",
                "p95 ≤ 20 ms",
            )
        )
        rows.append(
            (
                f"P5 verify_audit over {found5.verify_records:,} records [load {load}]",
                f"{found5.verify_per_second:,.0f} records/s" + ("" if found5.verify_ok else " (BROKEN)"),
                "",
                "",
                "≥ 200,000 records/s",
            )
        )
        if found5.sequenced:
            rows.append(
                (
                    f"P5 audit sequencer, {found5.sequenced:,} pending records [load {load}]",
                    f"{found5.sequenced_per_second:,.0f} records/s",
                    "",
                    "",
                    "≥ 20,000 records/s",
                )
            )
        results["p5_search"] = {
            **asdict(found5),
            "verify_per_s": found5.verify_per_second,
            "sequenced_per_s": found5.sequenced_per_second,
            "load": load,
        }
    return rows, results
