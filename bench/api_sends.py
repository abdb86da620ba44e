"""P7: single sends over real HTTP through the documented deployment, to the provider calls the
fake Twilio receives, end to end; P7b: the same through the batch API (SPEC §4).

The deployment, sized for a 2-core machine as docs/performance.md describes: gunicorn serving
``hub.wsgi`` with the project's ``gunicorn.conf.py`` (``servers`` processes x ``threads``
threads), one Celery worker (prefork, ``concurrency`` children, every queue), one beat, all
with DEBUG off, on this run's database and broker (PostgreSQL and Redis for real figures). The
fake providers run in a process of their own and count the calls they receive. A load
generator in another process (``bench.loadgen``) posts N notifications from ``clients``
keep-alive connections, each to its own phone number, as fast as they are answered.

Measured: accepts per second with the p50/p99 of the answers; end to end, from the first
request to the N-th provider call, in messages per second. A warm-up of a few sends (not
counted) goes first, so every gunicorn thread and worker child has connected.

The naive baseline, in the same run on the same worker: P1's naive sender (``bench.naive``:
one Celery task per message, ORM reads and saves at every step, a fresh provider client per
message) for M messages written ``queued`` directly (no HTTP, no accept), the sender a first
version of a hub would have.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from bench.audience import bench_api_key
from bench.cpu import CpuMeter, database_backends, machine_busy_seconds, process_tree
from bench.dispatch import DispatchFigure, FakeProviders, dispatch_run, fake_providers
from bench.fixtures import BENCH_DATA, bench_template
from bench.profiling import PROFILE_DIR_ENV
from bench.workers import (
    BENCH_APP,
    beat_process,
    free_port,
    process_env,
    production_env,
    queues_purge,
    run_dir,
    web_process,
    worker_processes,
)

SINGLE_PATH = "/api/v1/notifications"
BATCH_PATH = "/api/v1/notifications/batch"
# Each notification's own number: ``__N__`` is the serial the load generator fills in.
PHONE_PATTERN = "+4479111__N__"


@dataclass(frozen=True)
class SendsFigure:
    """One P7 run: ``notifications`` sent through ``path`` in ``requests`` requests."""

    path: str
    available: bool
    notifications: int = 0
    requests: int = 0
    clients: int = 0
    # Answers other than 202 (single) / 207 (batch), and the statuses seen.
    errors: int = 0
    error_statuses: list[int] = field(default_factory=list)
    accepted: int = 0
    accept_seconds: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    # From the first request to the last accepted notification's provider call.
    end_to_end_seconds: float = 0.0
    provider_calls: int = 0
    # CPU seconds by component from the first request to the last provider call, and the
    # whole machine's busy CPU seconds meanwhile (the rest was spent by other work on it).
    cpu: dict[str, float] = field(default_factory=dict)
    machine_cpu: float = 0.0
    # The floor view (``paused``): the worker was stopped while the requests were answered, so
    # the accepts had the machine to themselves; then it drained them alone. The CPU seconds
    # of the accepts (``cpu`` holds the drain's) and the drain's seconds.
    paused: bool = False
    accept_cpu: dict[str, float] = field(default_factory=dict)
    drain_seconds: float = 0.0
    # Provider calls made before the worker was continued: none, if the pause held.
    sent_while_paused: int = 0

    @property
    def accepted_per_second(self) -> float:
        return self.accepted / self.accept_seconds if self.accept_seconds else 0.0

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.accept_seconds if self.accept_seconds else 0.0

    @property
    def end_to_end_per_second(self) -> float:
        return self.provider_calls / self.end_to_end_seconds if self.end_to_end_seconds else 0.0

    @property
    def drain_per_second(self) -> float:
        return self.provider_calls / self.drain_seconds if self.drain_seconds else 0.0

    def cpu_ms_per_message(self) -> dict[str, float]:
        counted = max(self.provider_calls, 1)
        return {name: round(seconds * 1000 / counted, 2) for name, seconds in self.cpu.items()}

    def accept_cpu_ms_per_message(self) -> dict[str, float]:
        counted = max(self.accepted, 1)
        return {name: round(seconds * 1000 / counted, 2) for name, seconds in self.accept_cpu.items()}


@dataclass(frozen=True)
class SendsRun:
    single: SendsFigure | None
    batch: SendsFigure | None
    naive: DispatchFigure | None
    # P7b's floor view: the same batches with the worker paused while they are answered.
    batch_paused: SendsFigure | None = None


@dataclass(frozen=True)
class Deployment:
    port: int
    key: str
    providers: FakeProviders
    pids: dict[str, list[int]]  # gunicorn, workers, beat

    def cpu_meter(self) -> CpuMeter:
        return CpuMeter(
            {
                "gunicorn": process_tree(self.pids["gunicorn"]),
                "workers": process_tree(self.pids["workers"]),
                "postgres": database_backends(),
                "providers": process_tree([self.providers.process.pid]),
            }
        )


@contextmanager
def deployment(
    *, servers: int, threads: int, concurrency: int, broker_url: str, profile_dir: str = ""
) -> Iterator[Deployment]:
    """The fakes, gunicorn, one worker and beat, as documented; all stopped after. With
    ``profile_dir`` the worker's children profile their tasks there (``bench --profile``)."""
    bench_template()
    issued = bench_api_key("bench P7")
    queues_purge(broker_url)
    log_dir = run_dir("bench-p7-")
    with ExitStack() as stack:
        providers = stack.enter_context(fake_providers())
        # One set of keys for every process: the web process and the worker must agree on
        # the digest keys (suppressions) and the secret key.
        env = {**providers.worker_env(), **production_env()}
        worker_env = {**env, PROFILE_DIR_ENV: profile_dir} if profile_dir else env
        workers = stack.enter_context(
            worker_processes(
                broker_url,
                log_dir,
                count=1,
                pool="prefork",
                concurrency=concurrency,
                extra_env=worker_env,
                app_module=BENCH_APP,  # the hub's app, plus the naive baseline's task
            )
        )
        beat = stack.enter_context(beat_process(broker_url, log_dir, env))
        port = free_port()
        web = stack.enter_context(
            web_process(
                port,
                log_dir / "gunicorn.log",
                process_env(broker_url, env),
                servers=servers,
                threads=threads,
                extra=("--keep-alive", "30", "--backlog", "512"),
            )
        )
        yield Deployment(
            port=port,
            key=issued.raw,
            providers=providers,
            pids={"gunicorn": [web.pid], "workers": [w.pid for w in workers], "beat": [beat]},
        )


def _item_body() -> str:
    return json.dumps({"template": bench_template().key, "to": {"phone": PHONE_PATTERN}, "data": BENCH_DATA})


def _load(
    target: Deployment, *, path: str, requests: int, clients: int, batch: int, expect: int
) -> subprocess.Popen[bytes]:
    argv = [
        *(sys.executable, "-m", "bench.loadgen", "--port", str(target.port), "--path", path),
        *("--key", target.key, "--body", _item_body(), "--connections", str(clients)),
        *("--requests", str(requests), "--batch", str(batch), "--expect", str(expect)),
    ]
    return subprocess.Popen(  # noqa: S603 - our own argv
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=settings.BASE_DIR
    )


def _result(load: subprocess.Popen[bytes]) -> dict[str, Any]:
    answer, err = load.communicate(timeout=60)
    if load.returncode != 0:
        raise RuntimeError(f"the load generator failed:\n{err.decode()}")
    result: dict[str, Any] = json.loads(answer.decode().strip().splitlines()[-1])
    return result


def _signal(pids: set[int], signum: signal.Signals) -> None:
    for pid in pids:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            continue


def _sends(
    target: Deployment,
    *,
    path: str,
    notifications: int,
    clients: int,
    batch: int,
    timeout: float,
    measure: bool = True,
    paused: bool = False,
) -> SendsFigure:
    """Post ``notifications`` through ``path`` and wait for every accepted one's provider call
    (the fake Twilio's units: messages sent, a price lookup is not one). With ``paused``, the
    worker (every process of it) is stopped (SIGSTOP) until the last answer, then continued:
    the accepts alone, then the drain alone, each with its CPU."""
    per_request = max(batch, 1)
    requests = -(-notifications // per_request)
    calls_before = target.providers.counts("twilio")[1]
    meter = target.cpu_meter()
    stopped = process_tree(target.pids["workers"]) if paused else set()
    if paused and not stopped:
        raise RuntimeError("P7b paused: the worker's processes are not readable here (/proc)")
    _signal(stopped, signal.SIGSTOP)
    meter.start()
    busy_before = machine_busy_seconds()
    load = _load(
        target, path=path, requests=requests, clients=clients, batch=batch, expect=207 if batch else 202
    )
    result: dict[str, Any] | None = None
    accept_cpu: dict[str, float] = {}
    resumed_at = 0.0
    sent_while_paused = 0
    expected = requests * per_request
    deadline = time.monotonic() + timeout
    try:
        while True:
            calls = target.providers.counts("twilio")[1] - calls_before
            if calls >= expected:
                done_at = time.time()
                break
            if result is None and load.poll() is not None:
                result = _result(load)
                expected = int(result["accepted"])  # only accepted notifications reach the provider
                if stopped:
                    sent_while_paused = target.providers.counts("twilio")[1] - calls_before
                    accept_cpu = meter.stop(late={"postgres": database_backends()})
                    meter = target.cpu_meter()
                    meter.start()
                    resumed_at = time.time()
                    _signal(stopped, signal.SIGCONT)
                    stopped = set()
                continue
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"P7 {path}: {calls:,} of {expected:,} provider calls after {timeout:.0f} s; "
                    "see the worker log under var/bench-p7-*"
                )
            time.sleep(0.05)
        cpu = meter.stop(late={"postgres": database_backends()}) if CpuMeter.available() else {}
        machine_cpu = machine_busy_seconds() - busy_before
        if result is None:
            result = _result(load)
    finally:
        _signal(stopped, signal.SIGCONT)
        if load.poll() is None:
            load.kill()
            load.wait()
    if not measure:
        return SendsFigure(path=path, available=True)
    return SendsFigure(
        path=path,
        available=True,
        notifications=requests * per_request,
        requests=int(result["requests"]),
        clients=clients,
        errors=int(result["errors"]),
        error_statuses=list(result["error_statuses"]),
        accepted=int(result["accepted"]),
        accept_seconds=float(result["seconds"]),
        p50_ms=float(result["p50_ms"]),
        p99_ms=float(result["p99_ms"]),
        end_to_end_seconds=done_at - float(result["started_at"]),
        provider_calls=target.providers.counts("twilio")[1] - calls_before,
        cpu=cpu,
        machine_cpu=round(machine_cpu, 2),
        paused=paused,
        accept_cpu=accept_cpu,
        drain_seconds=done_at - resumed_at if paused else 0.0,
        sent_while_paused=sent_while_paused,
    )


def batch_available(target: Deployment) -> bool:
    """Whether the hub serves the batch API: an empty batch answered 404 or 405 means not."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{target.port}{BATCH_PATH}",
        data=b'{"notifications": []}',
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {target.key}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30):  # noqa: S310
            return True
    except urllib.error.HTTPError as exc:
        return exc.code not in (404, 405)


def api_sends(
    *,
    notifications: int,
    clients: int,
    batch_notifications: int,
    batch_size: int,
    batch_clients: int,
    naive_messages: int,
    servers: int,
    threads: int,
    concurrency: int,
    timeout: float,
    broker_url: str,
    single: bool = True,
    batch: bool = True,
    profile_dir: str = "",
) -> SendsRun:
    """P7 (single sends), P7b (the batch API) and the naive baseline, on one deployment."""
    with deployment(
        servers=servers,
        threads=threads,
        concurrency=concurrency,
        broker_url=broker_url,
        profile_dir=profile_dir,
    ) as target:
        # Warm-up, not counted: every gunicorn thread and worker child connects and fills its caches.
        _sends(
            target,
            path=SINGLE_PATH,
            notifications=4 * clients,
            clients=clients,
            batch=0,
            timeout=timeout,
            measure=False,
        )
        p7 = (
            _sends(
                target,
                path=SINGLE_PATH,
                notifications=notifications,
                clients=clients,
                batch=0,
                timeout=timeout,
            )
            if single
            else None
        )
        p7b = p7b_paused = None
        if batch and batch_available(target):
            # P7b, then its floor view: the same batches, the worker paused while they are
            # answered (where its processes can be found: /proc, Linux).
            p7b, p7b_paused = (
                _sends(
                    target,
                    path=BATCH_PATH,
                    notifications=batch_notifications,
                    clients=batch_clients,
                    batch=batch_size,
                    timeout=timeout,
                    paused=paused,
                )
                if not paused or CpuMeter.available()
                else None
                for paused in (False, True)
            )
        elif batch:
            p7b = SendsFigure(path=BATCH_PATH, available=False)
        naive = (
            dispatch_run(
                name="naive-p7",
                channel="sms",
                count=naive_messages,
                batch_size=1,
                naive=True,
                timeout=timeout,
                providers=target.providers,
                worker_pids=target.pids["workers"],
            )
            if naive_messages
            else None
        )
    return SendsRun(single=p7, batch=p7b, naive=naive, batch_paused=p7b_paused)
