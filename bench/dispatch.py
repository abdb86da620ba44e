"""P1: end-to-end dispatch throughput, the real pipeline against the naive baseline, per channel.

The fake providers run in a process of their own (``python -m bench.fakes.serve``), so the
measuring process and the workers do not share them; they count what they receive.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from uuid import UUID

from django.conf import settings
from django.db import connection

from audit.bench import LockWaits
from bench.cpu import CpuMeter, database_backends, process_tree
from bench.fixtures import queued_messages_create, unsent_cancel
from bench.naive import naive_send
from bench.profiling import PROFILE_DIR_ENV
from bench.workers import BENCH_APP, production_env, run_dir, wait_for, worker_processes
from hub.celery import send_queue
from hub.messaging.dispatch import enqueue
from hub.messaging.models import Message
from hub.messaging.models import MessageStatus as S

# The provider each channel's figure goes through, as named by ``bench.fakes.serve``.
PROVIDER_OF = {"sms": "twilio", "email": "sendgrid"}


@dataclass(frozen=True)
class DispatchFigure:
    name: str
    channel: str
    messages: int
    seconds: float
    provider_calls: int
    # What those calls carried: one message each for SMS, many recipients per call for email.
    provider_units: int
    # CPU seconds by component during the run (workers, postgres, providers, bench).
    cpu: Mapping[str, float] = field(default_factory=dict)
    # pg_stat_activity sampled during the run (audit.bench.LockWaits): samples taken, and the
    # backends seen waiting for a lock in a statement on an audit table / on anything.
    lock_samples: int = 0
    audit_lock_waits: int = 0
    lock_waits: int = 0

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0

    def cpu_ms_per_message(self) -> dict[str, float]:
        return {name: round(seconds * 1000 / self.messages, 3) for name, seconds in self.cpu.items()}


class FakeProviders:
    """The fake Twilio and SendGrid servers running in their own process."""

    def __init__(self, process: subprocess.Popen[bytes], urls: dict[str, str]) -> None:
        self.process = process
        self.urls = urls

    def counts(self, provider: str) -> tuple[int, int]:
        """(calls, units) the provider has received so far."""
        with urllib.request.urlopen(self.urls[provider] + "/__calls", timeout=10) as answer:  # noqa: S310
            counts = json.load(answer)
        return int(counts["calls"]), int(counts["units"])

    def worker_env(self) -> dict[str, str]:
        """The settings that point a worker's providers at these fakes."""
        from bench.fakes.serve import served_env

        return served_env(self.urls)


@contextmanager
def fake_providers() -> Iterator[FakeProviders]:
    process = subprocess.Popen(  # noqa: S603 - our own argv
        [sys.executable, "-m", "bench.fakes.serve", *sorted(set(PROVIDER_OF.values()))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=settings.BASE_DIR,
    )
    try:
        assert process.stdout is not None  # noqa: S101 - piped above
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("the fake providers did not start")
        yield FakeProviders(process, json.loads(line))
    finally:
        if process.stdin is not None:
            process.stdin.close()  # it stops when its stdin closes
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _drain(ids: list[UUID], timeout: float) -> None:
    """Wait until none of ``ids`` is queued or sending. The ids are time-ordered (UUIDv7) and
    this process alone creates messages while a run goes, so a range over the status index
    stands for the list, which would otherwise be sent to the database on every poll."""
    pending = Message.objects.filter(status__in=[S.QUEUED, S.SENDING], id__gte=min(ids), id__lte=max(ids))
    wait_for(
        lambda: not pending.exists(),
        timeout=timeout,
        what="every message to leave queued/sending",
        interval=0.2,
    )


@dataclass(frozen=True)
class WorkerSetup:
    workers: int
    concurrency: int
    prefetch: int
    broker_url: str
    # Where workers write cProfile stats of their tasks (see bench.profiling); "" for none.
    profile_dir: str = ""


@contextmanager
def bench_workers(setup: WorkerSetup, providers: FakeProviders, channels: list[str]) -> Iterator[list[int]]:
    """The worker processes every run shares, consuming the transactional send queues of ``channels``.
    Messages an earlier figure left waiting (P3's and J1's) are cancelled first: a lane's drain
    here would send them beside the run's own."""
    unsent_cancel()
    log_dir = run_dir("bench-workers-")
    with worker_processes(
        setup.broker_url,
        log_dir,
        count=setup.workers,
        pool="prefork",
        concurrency=setup.concurrency,
        extra_env={
            **providers.worker_env(),
            **production_env(),  # DEBUG off, as in production: no query log kept per connection
            "HUB_WORKER_PREFETCH": str(setup.prefetch),
            # One connection per worker process for the whole run, so its CPU can be measured.
            "DATABASE_CONN_MAX_AGE": "3600",
            **({PROFILE_DIR_ENV: setup.profile_dir} if setup.profile_dir else {}),
        },
        queues=tuple(send_queue(channel, "transactional") for channel in channels),
        app_module=BENCH_APP,
    ) as processes:
        yield [p.pid for p in processes]


def dispatch_run(
    *,
    name: str,
    channel: str,
    count: int,
    batch_size: int,
    naive: bool,
    timeout: float,
    providers: FakeProviders,
    worker_pids: list[int],
) -> DispatchFigure:
    """Create ``count`` queued messages, enqueue them, and time until all are sent (the workers
    are already running). The real pipeline gets ``batch_size`` messages per task; the naive
    baseline one task per message."""
    ids = queued_messages_create(count=count, channel=channel)
    queue = send_queue(channel, "transactional")
    provider = PROVIDER_OF[channel]
    meter = CpuMeter(
        {
            "workers": process_tree(worker_pids),
            "postgres": database_backends(),
            "providers": process_tree([providers.process.pid]),
            "bench": {os.getpid()},
        }
    )
    calls_before, units_before = providers.counts(provider)
    waits = LockWaits()
    if connection.vendor == "postgresql":  # it samples pg_stat_activity
        waits.start()
    meter.start()
    started = time.perf_counter()
    if naive:
        for message_id in ids:
            naive_send.apply_async((str(message_id),), queue=queue)
    else:
        enqueue(ids, channel=channel, category="transactional", batch_size=batch_size)
    _drain(ids, timeout)
    elapsed = time.perf_counter() - started
    waits.stop()
    cpu = meter.stop(late={"postgres": database_backends()}) if CpuMeter.available() else {}
    calls_after, units_after = providers.counts(provider)
    sent = Message.objects.filter(id__in=ids, status=S.SENT).count()
    if sent != count:
        raise RuntimeError(f"{name}: only {sent} of {count} messages were sent; see the worker logs")
    return DispatchFigure(
        name,
        channel,
        count,
        elapsed,
        calls_after - calls_before,
        units_after - units_before,
        cpu,
        lock_samples=waits.samples,
        audit_lock_waits=waits.audit_waits,
        lock_waits=waits.all_waits,
    )


class CallCounter:
    """Counts the calls an in-process fake received (a callable, so runs can diff it); the
    P2-P6 figures use it with their in-process fake Twilio."""

    def __init__(self, server: object) -> None:
        self.server = server

    def __call__(self) -> int:
        return int(self.server.call_count)  # type: ignore[attr-defined]
