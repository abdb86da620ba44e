"""J1 to J4: journeys at scale (issue 17.10), in this process against the configured database.

- **J1** wake: ``runs`` waiting runs, all due, woken and advanced by beat's task body
  (``journeys_wake_due``) in ``--journey-wakers`` processes at once: each run resumes from a
  wait, sends an SMS (the bench template, through the intake) and waits again, so two steps
  per run. Figure: steps per second (and runs per second), with the wakers' CPU seconds beside
  the wall time.
- **J2** events one by one: ``events`` events through the events service (``event_record``, as
  ``POST /api/v1/events`` calls it, without HTTP), each starting a run that waits.
- **J3** events in bulk: the same through the batch path (``events_record``, as
  ``POST /api/v1/events/batch`` calls it), 1,000 per call. J2 and J3 run with the collector
  tuned as in gunicorn's workers (``hub.collector``, as ``hub.wsgi`` has it).
- **J2 HTTP**, **J3 HTTP**: the endpoint as callers reach it, beside the service figures: real
  ``POST /api/v1/events`` (``--journey-clients`` keep-alive clients at once) and
  ``POST /api/v1/events/batch`` (1,000 events a request, ``--journey-batch-clients`` clients)
  to gunicorn serving ``hub.wsgi`` as deployed (DEBUG off; ``--journey-servers`` workers of
  ``--journey-threads`` threads), loaded by ``bench.loadgen`` in another process; each event
  for a contact of its own, each starting a run that waits. Figures: events per second,
  p50/p99 per request, CPU per event of gunicorn and of PostgreSQL's backends.
- **J4** memory while runs wait: ``waiting`` runs not yet due; the wake task's ticks take no
  more memory and no more time with them than without (the partial index holds due runs only).

Setup (contacts, runs) is written with COPY and not timed. The accepted messages' send tasks
are purged from the broker after.
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import CommandParser
from django.db import connection, connections, transaction
from django.utils import timezone

from audit.rows import rows_insert
from audit.services import Actor
from bench.audience import bench_api_key
from bench.cpu import CpuMeter, database_backends, process_tree
from bench.fixtures import BENCH_ADDRESSES, BENCH_DATA, bench_template
from bench.workers import free_port, process_env, production_env, queues_purge, run_dir, web_process
from hub.collector import collector_as_web
from hub.contacts.models import Contact
from hub.ids import uuid7
from hub.journeys.events import EventInput, event_record, events_record
from hub.journeys.models import Journey, JourneyRun, JourneyVersion, RunStatus
from hub.journeys.services import (
    journey_create,
    journey_draft_create,
    journey_version_approve,
    journey_version_submit,
)
from hub.journeys.wake import journeys_wake_due

JOURNEY_FIGURES = ("j1", "j2", "j3", "j4")
Row = tuple[str, ...]
RUN_COLUMNS = (
    "id",
    "journey",
    "version",
    "contact",
    "entry",
    "status",
    "step",
    "wake_at",
    "waiting_for",
    "state",
    "steps_taken",
    "exit_event",
    "created_at",
    "updated_at",
)


def add_journey_arguments(parser: CommandParser) -> None:
    parser.add_argument("--journey-runs", type=int, default=100_000, help="J1: due runs woken")
    parser.add_argument(
        "--journey-wakers", type=int, default=2, help="J1: processes running the wake task at once"
    )
    parser.add_argument("--journey-events", type=int, default=20_000, help="J2, J3: events recorded")
    parser.add_argument("--journey-waiting", type=int, default=1_000_000, help="J4: runs left waiting")
    parser.add_argument(
        "--journey-clients", type=int, default=16, help="J2 HTTP: clients posting single events at once"
    )
    parser.add_argument(
        "--journey-batch-clients", type=int, default=4, help="J3 HTTP: clients posting batches at once"
    )
    parser.add_argument("--journey-servers", type=int, default=2, help="J2, J3 HTTP: gunicorn workers")
    parser.add_argument(
        "--journey-threads", type=int, default=4, help="J2, J3 HTTP: threads per gunicorn worker"
    )


@dataclass(frozen=True)
class Timed:
    count: int
    seconds: float
    cpu_seconds: float

    @property
    def per_second(self) -> float:
        return self.count / max(self.seconds, 1e-9)


def _timed(work: Callable[[], int]) -> Timed:
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    count = work()
    return Timed(count, time.perf_counter() - wall, time.process_time() - cpu)


def bench_journey(key: str, steps: list[dict[str, Any]], trigger: str) -> JourneyVersion:
    """A live journey ``key`` with these steps (a new approved version each call)."""
    maker, _ = User.objects.get_or_create(username="bench-journey-maker")
    checker, _ = User.objects.get_or_create(username="bench-journey-checker")
    journey = Journey.objects.filter(key=key).first() or journey_create(
        key=key, name=key, actor=Actor.system()
    )
    definition = {"key": key, "name": key, "trigger": {"event": trigger}, "reentry": {"policy": "always"}}
    version = journey_draft_create(journey=journey, author=maker, definition={**definition, "steps": steps})
    journey_version_submit(version=version, actor=Actor.user(maker.pk))
    journey_version_approve(version=version, approver=checker)
    return version


def bench_contacts(count: int, prefix: str, *, width: int = 0) -> list[int]:
    """``count`` contacts ``{prefix}-{i}`` (``i`` zero-padded to ``width``) with the bench phone
    (made once, by COPY)."""
    wanted = [f"{prefix}-{i:0{width}d}" for i in range(count)]
    have = set(
        Contact.objects.filter(external_id__startswith=f"{prefix}-").values_list("external_id", flat=True)
    )
    now = timezone.now()
    missing = [e for e in wanted if e not in have]
    for start in range(0, len(missing), 50_000):
        with transaction.atomic():
            rows_insert(
                Contact,
                (
                    "external_id",
                    "email",
                    "phone",
                    "locale",
                    "timezone",
                    "attributes",
                    "created_at",
                    "updated_at",
                ),
                (
                    (e, "", BENCH_ADDRESSES["sms"], "en", "", {}, now, now)
                    for e in missing[start : start + 50_000]
                ),
            )
    ids = dict(Contact.objects.filter(external_id__in=wanted).values_list("external_id", "id"))
    return [ids[e] for e in wanted]


def waiting_runs_create(version: JourneyVersion, contacts: list[int], *, step: str, due: bool) -> None:
    """One waiting run per contact in ``step``, due now (``due``) or in a year."""
    now = timezone.now()
    wake = now - timedelta(seconds=1) if due else now + timedelta(days=365)
    for start in range(0, len(contacts), 50_000):
        with transaction.atomic():
            rows_insert(
                JourneyRun,
                RUN_COLUMNS,
                (
                    (uuid7(), version.journey_id, version.pk, c, str(uuid7()), RunStatus.WAITING, step, wake,
                     {"kind": "time"}, {}, 1, "", now, now)
                    for c in contacts[start : start + 50_000]
                ),
            )  # fmt: skip


def _runs_clear(version: JourneyVersion) -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM journeys_journeyrunentry WHERE run_id IN (SELECT id FROM journeys_journeyrun WHERE version_id = %s)", [version.pk])  # fmt: skip
        cursor.execute("DELETE FROM journeys_journeyrunmessage WHERE run_id IN (SELECT id FROM journeys_journeyrun WHERE version_id = %s)", [version.pk])  # fmt: skip
        cursor.execute("UPDATE journeys_journeyrun SET status = 'cancelled', wake_at = NULL WHERE version_id = %s", [version.pk])  # fmt: skip


WAKE_STEPS: list[dict[str, Any]] = [
    {"id": "nap", "type": "wait", "duration": "1h"},
    {"id": "hello", "type": "send", "template": "bench.sms", "channels": ["sms"], "data": BENCH_DATA},
    {"id": "rest", "type": "wait", "duration": "30d"},
]


def _wake_until_done() -> None:
    """A child's work: the wake task's body, tick after tick, until nothing is due."""
    connections.close_all()  # its own connection, not the parent's
    while journeys_wake_due(budget_seconds=3600):
        pass
    connections.close_all()


def bench_wake(runs: int, wakers: int = 1) -> tuple[Timed, int]:
    """J1: ``runs`` due runs woken by ``wakers`` processes at once (as beat's overlapping ticks
    on several workers would: ``SKIP LOCKED`` shares the due runs). Returns the timing (count
    = steps taken, CPU = the wakers' own) and the runs woken."""
    bench_template("sms")
    version = bench_journey("bench_wake", WAKE_STEPS, "bench.wake")
    waiting_runs_create(version, bench_contacts(runs, "bench-j"), step="nap", due=True)
    connections.close_all()
    context = multiprocessing.get_context("fork")
    gc.collect()
    children_cpu = _children_cpu()
    wall = time.perf_counter()
    processes = [context.Process(target=_wake_until_done) for _ in range(wakers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    seconds = time.perf_counter() - wall
    cpu = _children_cpu() - children_cpu
    woken = JourneyRun.objects.filter(version=version, step="rest").count()
    _runs_clear(version)
    return Timed(2 * woken, seconds, cpu), woken  # each: the send, then the second wait


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_events(count: int, *, batch: bool) -> Timed:
    """J2 / J3: ``count`` events, each starting a run of a journey that waits."""
    bench_journey("bench_events", [{"id": "nap", "type": "wait", "duration": "1h"}], "bench.event")
    contacts = bench_contacts(count, "bench-e")
    del contacts
    stamp = uuid7().hex[:12]
    items = [
        EventInput(name="bench.event", contact=f"bench-e-{i}", data={"n": i}, id=f"{stamp}-{i}")
        for i in range(count)
    ]

    def one_by_one() -> int:
        for item in items:
            event_record(item=item, api_key=None)
        return count

    def in_bulk() -> int:
        for start in range(0, count, 1000):
            events_record(items=items[start : start + 1000], api_key=None)
        return count

    # The collector as gunicorn's workers have it (hub.wsgi): with Python's default a third of
    # a batch's CPU in-process was collection, which the web process does not pay.
    with collector_as_web():
        return _timed(in_bulk if batch else one_by_one)


@dataclass(frozen=True)
class HttpFigure:
    """J2 / J3 through HTTP: events recorded, requests, their latencies, CPU per event."""

    events: int
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    cpu_ms_per_event: dict[str, float]

    @property
    def per_second(self) -> float:
        return self.events / max(self.seconds, 1e-9)


EVENTS_PATH = "/api/v1/events"
HTTP_BATCH = 1000


def _loadgen(
    port: int, key: str, *, path: str, requests: int, clients: int, batch: int, first: int
) -> subprocess.Popen[bytes]:
    # Each event for a contact of its own (``bench-h-<serial>``): as many callers' users would.
    body = json.dumps({"name": "bench.event", "contact": {"external_id": "bench-h-__N__"}, "data": {"n": 1}})
    argv = [
        *(sys.executable, "-m", "bench.loadgen", "--port", str(port), "--path", path, "--key", key),
        *("--body", body, "--connections", str(clients), "--requests", str(requests)),
        *("--batch", str(batch), "--envelope", "events", "--expect", "207" if batch else "202"),
        *("--first", str(first)),
    ]
    return subprocess.Popen(  # noqa: S603 - our own argv
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=settings.BASE_DIR
    )


def _loadgen_result(load: subprocess.Popen[bytes], timeout: float) -> dict[str, Any]:
    try:
        answer, err = load.communicate(timeout=timeout)
    finally:
        if load.poll() is None:
            load.kill()
            load.wait()
    if load.returncode != 0:
        raise RuntimeError(f"the load generator failed:\n{err.decode()}")
    result: dict[str, Any] = json.loads(answer.decode().strip().splitlines()[-1])
    return result


def bench_events_http(
    count: int, *, batch: bool, clients: int, servers: int, threads: int, broker_url: str
) -> HttpFigure:
    """J2 / J3 through HTTP: ``count`` events posted to gunicorn by ``clients`` at once, one a
    request or ``HTTP_BATCH`` a request, each starting a run that waits. A warm-up of a few
    requests a client (other contacts, not counted) first, so every thread has its
    connection and its caches."""
    bench_journey("bench_events", [{"id": "nap", "type": "wait", "duration": "1h"}], "bench.event")
    per_request = min(HTTP_BATCH, count) if batch else 1
    requests = max(count // per_request, 1)
    # The warm-up: two requests a client, of 20 events each in a batch.
    warm_requests, warm_size = clients * 2, min(per_request, 20)
    bench_contacts(requests * per_request + warm_requests * warm_size, "bench-h", width=5)
    issued = bench_api_key("bench events")
    port = free_port()
    env = process_env(broker_url, production_env())
    log = run_dir("bench-events-") / "gunicorn.log"
    path = f"{EVENTS_PATH}/batch" if batch else EVENTS_PATH
    size = per_request if batch else 0
    with web_process(
        port, log, env, servers=servers, threads=threads, extra=("--keep-alive", "30", "--backlog", "512")
    ) as server:
        warm = _loadgen(port, issued.raw, path=path, requests=warm_requests, clients=clients, batch=warm_size if batch else 0, first=requests * per_request)  # fmt: skip
        _loadgen_result(warm, timeout=600)
        meter = CpuMeter({"gunicorn": process_tree([server.pid]), "postgres": database_backends()})
        meter.start()
        load = _loadgen(port, issued.raw, path=path, requests=requests, clients=clients, batch=size, first=0)
        result = _loadgen_result(load, timeout=3600)
        cpu = meter.stop(late={"postgres": database_backends()}) if CpuMeter.available() else {}
    events = int(result["accepted"])
    return HttpFigure(
        events=events,
        requests=int(result["requests"]),
        errors=int(result["errors"]),
        seconds=float(result["seconds"]),
        p50_ms=float(result["p50_ms"]),
        p99_ms=float(result["p99_ms"]),
        cpu_ms_per_event={k: round(v * 1000 / max(events, 1), 2) for k, v in cpu.items()},
    )


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def bench_waiting_memory(waiting: int) -> dict[str, float]:
    """J4: the wake tick's time and this process's memory, before and after ``waiting`` runs
    that are not due."""
    version = bench_journey("bench_idle", [{"id": "nap", "type": "wait", "duration": "365d"}], "bench.idle")
    tick = _timed(lambda: journeys_wake_due())
    before = _rss_mb()
    waiting_runs_create(version, bench_contacts(waiting, "bench-w"), step="nap", due=False)
    gc.collect()
    loaded = _rss_mb()
    ticks = [_timed(lambda: journeys_wake_due()) for _ in range(20)]
    after = _rss_mb()
    return {
        "waiting": float(waiting),
        "tick_ms_empty": tick.seconds * 1000,
        "tick_ms_waiting": max(t.seconds for t in ticks) * 1000,
        "rss_mb_before": before,
        "rss_mb_after_insert": loaded,
        "rss_mb_after_ticks": after,
    }


def measure_journeys(
    only: Collection[str], options: dict[str, Any], broker_url: str, *, log: Callable[[str], Any]
) -> tuple[list[Row], dict[str, Any]]:
    rows: list[Row] = []
    results: dict[str, Any] = {}
    try:
        if "j1" in only:
            log(f"J1: waking {options['journey_runs']:,} due runs, {options['journey_wakers']} processes…")
            timed, woken = bench_wake(options["journey_runs"], options["journey_wakers"])
            rows.append(
                (
                    "J1 journey runs woken and advanced",
                    f"{timed.per_second:,.0f} steps/s",
                    f"{woken / max(timed.seconds, 1e-9):,.0f} runs/s, CPU {timed.cpu_seconds:.1f}s of {timed.seconds:.1f}s",
                    "≥ 2,000 steps/s",
                    "",
                )
            )
            results["j1"] = {"steps": timed.count, "runs": woken, "seconds": timed.seconds, "cpu_seconds": timed.cpu_seconds, "steps_per_s": timed.per_second}  # fmt: skip
        for figure, batch, target in (("j2", False, "≥ 500 events/s"), ("j3", True, "≥ 5,000 events/s")):
            if figure in only:
                log(f"{figure.upper()}: {options['journey_events']:,} events{' in bulk' if batch else ''}…")
                timed = bench_events(options["journey_events"], batch=batch)
                label = "J3 events in bulk (service)" if batch else "J2 events one by one (service)"
                rows.append((label, f"{timed.per_second:,.0f} events/s", f"CPU {timed.cpu_seconds:.1f}s of {timed.seconds:.1f}s", target, ""))  # fmt: skip
                results[figure] = {"events": timed.count, "seconds": timed.seconds, "cpu_seconds": timed.cpu_seconds, "events_per_s": timed.per_second}  # fmt: skip
                clients = options["journey_batch_clients" if batch else "journey_clients"]
                servers, threads = options["journey_servers"], options["journey_threads"]
                log(f"{figure.upper()} HTTP: {options['journey_events']:,} events, gunicorn {servers}x{threads}, {clients} clients…")  # fmt: skip
                http = bench_events_http(
                    options["journey_events"],
                    batch=batch,
                    clients=clients,
                    servers=servers,
                    threads=threads,
                    broker_url=broker_url,
                )
                cpu = ", ".join(f"{name} {ms} ms" for name, ms in http.cpu_ms_per_event.items())
                what = f"{HTTP_BATCH:,} a request" if batch else "one a request"
                rows.append(
                    (
                        f"{figure.upper()} events {what} (HTTP, gunicorn {servers}x{threads}, {clients} clients)",
                        f"{http.per_second:,.0f} events/s",
                        f"p50 {http.p50_ms:,.0f} / p99 {http.p99_ms:,.0f} ms a request; CPU an event: {cpu}; {http.errors} errors",
                        target,
                        "",
                    )
                )  # fmt: skip
                results[f"{figure}_http"] = {**vars(http), "events_per_s": http.per_second, "clients": clients, "servers": servers, "threads": threads}  # fmt: skip
        if "j4" in only:
            log(f"J4: {options['journey_waiting']:,} runs waiting…")
            memory = bench_waiting_memory(options["journey_waiting"])
            rows.append(
                (
                    "J4 wake tick with runs waiting",
                    f"{memory['tick_ms_waiting']:,.1f} ms",
                    f"empty {memory['tick_ms_empty']:.1f} ms; RSS over 20 ticks {memory['rss_mb_after_insert']:.0f} → {memory['rss_mb_after_ticks']:.0f} MB",
                    "memory flat",
                    "",
                )
            )
            results["j4"] = memory
    finally:
        queues_purge(broker_url)
    return rows, results
