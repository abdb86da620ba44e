"""Figures P2-P7 for ``manage.py bench``: their options, their smoke sizes, and their rows of
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
from bench.api_sends import SendsFigure, SendsRun, api_sends
from bench.broadcast import DrainRun, broadcast_drain
from bench.contact_search import contact_search_bench, segment_count_bench
from bench.dispatch import WorkerSetup
from bench.fixtures import unsent_cancel
from bench.homes import homes_bench
from bench.memory import MemoryFigure
from bench.memory_run import dispatch_memory_run
from bench.profiling import profile_summary
from bench.search import search_bench
from bench.workers import run_dir

FIGURES = ("p7", "p7b", "p1", "p2", "p3", "p4", "p5", "p5c", "p6", "renders")
# Measured only when named in --only (their fill is ten million messages).
ON_REQUEST = ("homes",)

Row = tuple[str, ...]


def add_figure_arguments(parser: CommandParser) -> None:
    add = parser.add_argument
    add("--p7-notifications", type=int, default=2000, help="P7: single POST /api/v1/notifications sends")
    add("--p7-clients", type=int, default=16, help="P7: concurrent clients (keep-alive connections)")
    add("--p7-naive-messages", type=int, default=1000, help="P7: messages for the naive baseline (0: none)")
    add("--p7b-notifications", type=int, default=20_000, help="P7b: notifications through the batch API")
    add("--p7b-batch-size", type=int, default=1000, help="P7b: notifications per batch request")
    add("--p7b-clients", type=int, default=4, help="P7b: concurrent clients")
    add("--p7-servers", type=int, default=2, help="P7: gunicorn worker processes")
    add("--p7-threads", type=int, default=4, help="P7: threads per gunicorn worker")
    add("--p7-concurrency", type=int, default=2, help="P7: prefork children of the one Celery worker")
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
    add("--p5c-contacts", type=int, default=1_000_000, help="P5c: contacts support searches among")
    add(
        "--p5-pending",
        type=int,
        default=1_000_000,
        help="P5: of the audit records, how many the sequencer is timed on (the rest are filled into "
        "the log already)",
    )
    add("--homes-messages", type=int, default=10_000_000, help="homes: messages in the bench database")
    add("--homes-contacts", type=int, default=1_000_000, help="homes: contacts support searches among")
    add("--homes-audit-records", type=int, default=1_000_000, help="homes: audit records in the trail")
    add("--homes-loads", type=int, default=50, help="homes: timed loads of each home and searches")
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
        "p7_notifications": 40,
        "p7_clients": 4,
        "p7_naive_messages": 20,
        "p7b_notifications": 40,
        "p7b_batch_size": 10,
        "p7b_clients": 2,
        "p7_servers": 1,
        "p7_threads": 2,
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
        "p5c_contacts": 2000,
        "p5_pending": 1000,
        "p6_messages": 200,
        "homes_messages": 2000,
        "homes_contacts": 500,
        "homes_audit_records": 500,
        "homes_loads": 3,
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


def _sends_row(label: str, figure: SendsFigure, load: float, target: str) -> Row:
    if not figure.available:
        return (label, "endpoint not available (404/405)", "", "", target)
    errors = (
        f", {figure.errors:,} NOT {207 if figure.path.endswith('batch') else 202}" if figure.errors else ""
    )
    return (
        f"{label} [load {load}]",
        f"{figure.accepted_per_second:,.0f} accepted/s (p50 {figure.p50_ms:,.0f} / p99 {figure.p99_ms:,.0f} ms"
        f" per request{errors}); end to end {figure.end_to_end_per_second:,.0f} msg/s",
        "",
        "",
        target,
    )


def _paused_row(figure: SendsFigure, load: float) -> Row:
    """P7b's floor view: what the accepts reach with the machine to themselves, what the drain
    reaches alone, and the end to end the two allow together on the same cores: about
    1 / (1/A + 1/D), a little more where one leaves the cores idle for the other."""
    accept, drain = figure.accepted_per_second, figure.drain_per_second
    both = 1 / (1 / accept + 1 / drain) if accept and drain else 0.0
    spent = ", ".join(f"{k} {v:.2f}" for k, v in figure.accept_cpu_ms_per_message().items() if v)
    return (
        f"P7b floor view: the same, the worker paused until the last answer [load {load}]",
        f"accepts alone {accept:,.0f}/s (p99 {figure.p99_ms:,.0f} ms; CPU ms each: {spent}); "
        f"then the drain alone {drain:,.0f} msg/s; the two on the same cores: about {both:,.0f} msg/s",
        "",
        "",
        "(a view of P7b's floor, not a figure)",
    )


def _paused_json(figure: SendsFigure | None, load: float) -> dict[str, Any] | None:
    if figure is None:
        return None
    return {
        **(_sends_json(figure, load) or {}),
        "drain_per_s": figure.drain_per_second,
        "accept_cpu_ms_per_message": figure.accept_cpu_ms_per_message(),
    }


def _sends_json(figure: SendsFigure | None, load: float) -> dict[str, Any] | None:
    if figure is None:
        return None
    return {
        **asdict(figure),
        "accepted_per_s": figure.accepted_per_second,
        "requests_per_s": figure.requests_per_second,
        "end_to_end_per_s": figure.end_to_end_per_second,
        "cpu_ms_per_message": figure.cpu_ms_per_message(),
        "load": load,
    }


def _sends_rows(run: SendsRun, options: dict[str, Any], load: float) -> tuple[list[Row], dict[str, Any]]:
    rows: list[Row] = []
    deployment = (
        f"gunicorn {options['p7_servers']}x{options['p7_threads']}, 1 worker -c {options['p7_concurrency']}"
    )
    naive = run.naive.per_second if run.naive else 0.0
    if run.single is not None:
        label = (
            f"P7 {run.single.notifications:,} single API sends, {run.single.clients} clients, {deployment}"
        )
        row = _sends_row(label, run.single, load, "≥ 300 msg/s end to end, accept p99 ≤ 100 ms")
        ratio = f"{run.single.end_to_end_per_second / naive:.1f}x" if naive else ""
        rows.append((row[0], row[1], f"{naive:,.0f} msg/s" if naive else "", ratio, row[4]))
    if run.batch is not None:
        label = (
            f"P7b batch API, {options['p7b_notifications']:,} in batches of {options['p7b_batch_size']:,}, "
            f"{options['p7b_clients']} clients"
        )
        rows.append(_sends_row(label, run.batch, load, "≥ 5,000 accepted/s; end to end at the P1 rate"))
    if run.batch_paused is not None:
        rows.append(_paused_row(run.batch_paused, load))
    results = {
        "p7_sends": {
            "deployment": {
                "gunicorn_processes": options["p7_servers"],
                "gunicorn_threads": options["p7_threads"],
                "celery_workers": 1,
                "celery_concurrency": options["p7_concurrency"],
                "beat": 1,
            },
            "single": _sends_json(run.single, load),
            "batch": _sends_json(run.batch, load),
            "batch_paused": _paused_json(run.batch_paused, load),
            "naive_baseline": (
                {
                    "what": "P1's naive sender (bench.naive, one task per message) on the same worker, "
                    "messages written queued directly (no HTTP)",
                    "messages": run.naive.messages,
                    "seconds": run.naive.seconds,
                    "per_s": run.naive.per_second,
                    "provider_calls": run.naive.provider_calls,
                    "cpu_ms_per_message": run.naive.cpu_ms_per_message(),
                }
                if run.naive
                else None
            ),
            "load": load,
        }
    }
    return rows, results


def measure_sends(
    only: Collection[str], options: dict[str, Any], broker_url: str, *, log: Callable[[str], Any]
) -> tuple[list[Row], dict[str, Any]]:
    """P7 and P7b (whichever of them ``only`` selects) and the naive baseline, on one deployment."""
    if not {"p7", "p7b"} & set(only):
        return [], {}
    # --profile: the worker's children profile their tasks (gunicorn is profiled in-process by
    # ``python -m bench.accept_profile`` instead).
    profile_dir = run_dir("bench-profile-p7-") if options.get("profile") else None
    log(
        f"P7: {options['p7_notifications']:,} single sends, {options['p7_clients']} clients; "
        f"P7b: {options['p7b_notifications']:,} through the batch API; naive baseline "
        f"{options['p7_naive_messages']:,} messages ..."
    )
    left = unsent_cancel()
    if left:
        log(
            f"P7: cancelled {left:,} messages an earlier run left unsent in this database "
            "(the workers' lane drains would have sent them, and the fake counted them)"
        )
    run = api_sends(
        notifications=options["p7_notifications"],
        clients=options["p7_clients"],
        batch_notifications=options["p7b_notifications"],
        batch_size=options["p7b_batch_size"],
        batch_clients=options["p7b_clients"],
        naive_messages=options["p7_naive_messages"],
        servers=options["p7_servers"],
        threads=options["p7_threads"],
        concurrency=options["p7_concurrency"],
        timeout=options["timeout"],
        broker_url=broker_url,
        single="p7" in only,
        batch="p7b" in only,
        profile_dir=str(profile_dir) if profile_dir else "",
    )
    if profile_dir is not None:
        log(profile_summary(profile_dir))
    for figure in (run.single, run.batch, run.batch_paused):
        if figure is not None and figure.available and figure.cpu:
            spent = ", ".join(f"{k} {v:.2f}" for k, v in figure.cpu_ms_per_message().items())
            what = f"{figure.path}, the drain after the pause" if figure.paused else figure.path
            log(f"CPU ms per message, P7 {what}: {spent}")
            ours = sum(figure.cpu.values()) + sum(figure.accept_cpu.values())
            log(
                f"P7 {figure.path}: the machine was busy {figure.machine_cpu:,.0f} CPU s over "
                f"{figure.end_to_end_seconds:,.0f} s, {max(figure.machine_cpu - ours, 0):,.0f} of them "
                "not this deployment's (other work on the machine, the load generator, beat)"
            )
    return _sends_rows(run, options, _load())


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
                "≥ 400 req/s, p99 ≤ 100 ms",
            )
        )
        for name, floor in accepts.floors.items():
            what = "a bare Django view" if name == "django" else "a trivial authenticated DRF view"
            share = accepts.per_second / floor.per_second if floor.per_second else 0.0
            rows.append(
                (
                    f"P3 floor: {what}, same deployment [load {load}]",
                    f"{floor.per_second:,.0f} req/s, p50 {floor.p50_ms:,.0f} / p99 {floor.p99_ms:,.0f} ms"
                    + (f", {floor.errors:,} NOT 202" if floor.errors else "")
                    + _cpu_note(floor.cpu_ms_per_request(), "request")
                    + f"; the accept reaches {share:.0%} of it",
                    "",
                    "",
                    "",
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
            records=options["p5_records"],
            messages=options["p5_messages"],
            repeats=options["p5_repeats"],
            pending=options["p5_pending"],
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
    if "p5c" in only:
        rows += _contact_search_rows(options, results, log)
    if "homes" in only:
        rows += _homes_rows(options, results, log)
    return rows, results


def _homes_rows(options: dict[str, Any], results: dict[str, Any], log: Callable[[str], Any]) -> list[Row]:
    """Each role's home and support's search box at ``--homes-messages`` messages."""
    if connection.vendor != "postgresql":
        return [("Role homes", "skipped: needs PostgreSQL", "", "", "")]
    found = homes_bench(
        messages=options["homes_messages"],
        contacts=options["homes_contacts"],
        audit_records=options["homes_audit_records"],
        loads=options["homes_loads"],
        log=log,
    )
    load = _load()
    results["homes"] = {**asdict(found), "load": load}
    sizes = f"{found.fill.messages:,} messages, {found.fill.contacts:,} contacts"
    rows: list[Row] = []
    for page in found.pages:
        tables = sorted({scan.split(":")[0] for scan in page.big_scans})
        scans = f"; {len(page.big_scans)} SEQ SCANS of {', '.join(tables)}" if page.big_scans else ""
        refused = f"; HTTP {page.status}" if page.status != 200 else ""
        rows.append(
            (
                f"Role homes: {page.what}, {sizes}, {page.loads} loads [load {load}]",
                f"p50 {page.p50_ms:,.0f} / p99 {page.p99_ms:,.0f} ms, {page.statements} statements, "
                f"slowest {page.slowest_ms:,.1f} ms{scans}{refused}",
                "",
                "",
                "no scan of a big table",
            )
        )
        log(f"homes: {page.what}: slowest statement ({page.slowest_ms:,.1f} ms): {page.slowest_sql}")
        for scan in page.big_scans:
            log(f"homes: {page.what}: SEQ SCAN {scan}")
    return rows


def _contact_search_rows(
    options: dict[str, Any], results: dict[str, Any], log: Callable[[str], Any]
) -> list[Row]:
    if connection.vendor != "postgresql":
        return [("P5c support's contact search", "skipped: needs PostgreSQL", "", "", "")]
    log(f"P5c: support's contact search over {options['p5c_contacts']:,} contacts ...")
    found = contact_search_bench(contacts=options["p5c_contacts"], repeats=options["p5_repeats"])
    load = _load()
    results["p5c_contact_search"] = {**asdict(found), "load": load}
    worst = max(found.by_query_p95_ms.items(), key=lambda kv: kv[1], default=("", 0.0))
    counted = segment_count_bench(contacts=options["p5c_contacts"])
    results["p5c_segment_count"] = {**asdict(counted), "load": load}
    return [
        (
            f"P5c a marketer's segment counted, {counted.contacts:,} contacts [load {load}]",
            "; ".join(
                f"{label}: {counted.matched_by_segment[label]:,} in {ms:,.0f} ms"
                for label, ms in counted.ms_by_segment.items()
            ),
            "",
            "",
            "",
        ),
        (
            f"P5c support's contact search, {found.contacts:,} contacts, {found.queries} searches [load {load}]",
            f"p95 {found.p95_ms:,.1f} ms (p50 {found.p50_ms:,.1f}; slowest: {worst[0]}, p95 {worst[1]:,.1f})",
            "",
            "",
            "p95 ≤ 20 ms",
        ),
    ]
