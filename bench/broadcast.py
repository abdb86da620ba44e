"""P2: a broadcast to N recipients, from the API's answer to every message handed off and audited.

The broadcast is created through the real API (``POST /api/v1/broadcasts`` with an attribute
filter, via DRF's test client in this process) and drained by real Celery workers talking to
the fake Twilio server. Beat is stood in for by a ticker that sends ``release_broadcasts``
every ``beat_interval`` seconds, as the beat schedule does. The same run can carry P4's
transactional probes and P6's memory samples (see ``latency`` and ``memory``).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.db.models import Count
from rest_framework.test import APIClient

from audit.models import AuditRecord
from audit.services import Actor
from bench.audience import PROMO_DATA, PROMO_TEMPLATE, audience_ensure, bench_api_key, promo_template
from bench.background import Background
from bench.cpu import CpuMeter, database_backends, process_tree
from bench.dispatch import CallCounter
from bench.fixtures import bench_template, unsent_cancel
from bench.latency import AcceptProbe, LatencyFigure
from bench.memory import MemoryFigure, RssSampler
from bench.profiling import PROFILE_DIR_ENV
from bench.workers import BENCH_APP, production_env, queues_purge, run_dir, wait_for, worker_processes
from hub.broadcasts.models import Broadcast, BroadcastStatus
from hub.broadcasts.steering import broadcast_cancel
from hub.broadcasts.tasks import release_broadcasts
from hub.celery import ALL_QUEUES, CHANNELS, send_queue
from hub.messaging.models import Message
from hub.messaging.models import MessageStatus as S

IN_FLIGHT = (S.ACCEPTED, S.QUEUED, S.SENDING, S.DEFERRED)


@dataclass(frozen=True)
class BroadcastFigure:
    recipients: int
    seconds: float  # API answer → last message handed off and audited
    api_seconds: float  # the POST itself (the audience is resolved inside it)
    sent: int
    statuses: dict[str, int]
    provider_calls: int
    audit_records: int
    # CPU seconds by component from the POST to the drain: the workers, PostgreSQL's backends,
    # and this process (the API request, the in-process fake Twilio, the polling).
    cpu: Mapping[str, float] = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0

    def cpu_ms_per_message(self) -> dict[str, float]:
        return {name: round(seconds * 1000 / self.recipients, 3) for name, seconds in self.cpu.items()}


@dataclass(frozen=True)
class DrainRun:
    broadcast: BroadcastFigure
    latency: LatencyFigure | None
    memory: MemoryFigure


class _BeatTicker(Background):
    """Sends ``release_broadcasts`` every ``interval`` seconds, as beat would."""

    def __init__(self, interval: float) -> None:
        super().__init__("beat-ticker")
        self.interval = interval

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            release_broadcasts.delay()


def _broadcast_messages(broadcast_id: UUID) -> Any:
    return Message.objects.filter(notification__broadcast_recipient__broadcast_id=broadcast_id)


def _drained(broadcast_id: UUID) -> bool:
    done = Broadcast.objects.filter(id=broadcast_id, status=BroadcastStatus.COMPLETED).exists()
    return done and not _broadcast_messages(broadcast_id).filter(status__in=IN_FLIGHT).exists()


def _cancel_leftovers() -> None:
    """Cancel what earlier runs left: bench broadcasts still running (beat would release them
    too), and every message still waiting to be sent. P3 and J1 leave theirs queued (no worker
    runs there): this run's workers would send them, and P4's transactional probes waited
    behind them (100,000 of J1's SMS made P4's p50 57 s)."""
    for broadcast in Broadcast.objects.filter(
        template__key=PROMO_TEMPLATE, status__in=[BroadcastStatus.RUNNING, BroadcastStatus.SCHEDULED]
    ):
        broadcast_cancel(broadcast=broadcast, actor=Actor.system())
    unsent_cancel()


def _audit_head() -> int:
    """The highest record number (records are numbered from a sequence, so the difference
    over a run counts the records it wrote, give or take numbers of rolled-back ones)."""
    return AuditRecord.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def broadcast_drain(
    *,
    recipients: int,
    workers: int,
    concurrency: int,
    broker_url: str,
    provider_env: dict[str, str],
    calls: CallCounter,
    timeout: float,
    probe_rate: float = 0.0,
    beat_interval: float = 5.0,
    profile_dir: str = "",
) -> DrainRun:
    """Broadcast the bench promotion to ``recipients`` consenting contacts and time the drain.

    With ``probe_rate`` > 0, transactional notifications are posted at that rate meanwhile
    (P4). Worker memory is sampled throughout (P6). With ``profile_dir``, the workers write
    cProfile stats of their tasks there (``bench.profiling``). Raises RuntimeError if a message of the
    broadcast ends other than sent.
    """
    queues_purge(broker_url)
    _cancel_leftovers()
    tag = f"a{recipients}"
    audience_ensure(tag=tag, count=recipients)
    template = promo_template()
    bench_template()  # the probes' transactional template
    issued = bench_api_key(f"bench broadcast {recipients}")
    log_dir = run_dir("bench-broadcast-")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw}")
    body = {
        "template": template.key,
        "name": f"bench {recipients}",
        "audience": {"filter": {"attributes": {"bench": tag}}},
        "data": PROMO_DATA,
        "channels": ["sms"],
    }
    env = {
        **provider_env,
        **production_env(),  # no query log growing in memory
        # One connection per worker process for the whole run, so its CPU can be measured.
        "DATABASE_CONN_MAX_AGE": "3600",
        **({PROFILE_DIR_ENV: profile_dir} if profile_dir else {}),
    }
    transactional = tuple(send_queue(channel, "transactional") for channel in CHANNELS)
    with ExitStack() as stack:
        procs = stack.enter_context(
            worker_processes(
                broker_url,
                log_dir,
                count=workers,
                pool="prefork",
                concurrency=concurrency,
                extra_env=env,
                app_module=BENCH_APP,
                # With probes, transactional sends get a worker of their own, as docs/deploying.md
                # advises, so they never wait behind the broadcast's batches.
                queues=tuple(q for q in ALL_QUEUES if q not in transactional) if probe_rate else ALL_QUEUES,
            )
        )
        if probe_rate:
            stack.enter_context(
                worker_processes(
                    broker_url,
                    log_dir,
                    count=1,
                    pool="prefork",
                    concurrency=1,
                    extra_env=env,
                    app_module=BENCH_APP,
                    queues=transactional,
                )
            )
        calls_before, head_before = calls(), _audit_head()
        sampler = stack.enter_context(RssSampler([p.pid for p in procs], lambda: calls() - calls_before))
        meter = CpuMeter(
            {
                "workers": process_tree(p.pid for p in procs),
                "postgres": database_backends(),
                "bench": {os.getpid()},
            }
        )
        meter.start()
        posted = time.perf_counter()
        response = client.post("/api/v1/broadcasts", body, format="json")
        answered = time.perf_counter()
        if response.status_code != 202:
            raise RuntimeError(f"broadcast refused: {response.status_code} {response.content[:500]!r}")
        broadcast_id = UUID(response.json()["id"])
        stack.enter_context(_BeatTicker(beat_interval))
        probe = stack.enter_context(AcceptProbe(api_key=issued.raw, rate=probe_rate)) if probe_rate else None
        wait_for(
            lambda: calls() - calls_before >= recipients and _drained(broadcast_id),
            timeout=timeout,
            what=f"the broadcast to drain (logs in {log_dir})",
            interval=0.2,
        )
        elapsed = time.perf_counter() - answered
        cpu = meter.stop(late={"postgres": database_backends()}) if CpuMeter.available() else {}
        if probe is not None:
            probe.__exit__()  # no more probes; give the last ones a while (the figure counts those sent)
            with contextlib.suppress(AssertionError):
                wait_for(lambda: not probe.pending(), timeout=300, what="the last probes", interval=0.5)
    statuses = dict(
        _broadcast_messages(broadcast_id)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    figure = BroadcastFigure(
        recipients=recipients,
        seconds=elapsed,
        api_seconds=answered - posted,
        sent=statuses.get(S.SENT, 0),
        statuses=statuses,
        provider_calls=calls() - calls_before,
        audit_records=_audit_head() - head_before,
        cpu=cpu,
    )
    if figure.sent != recipients:
        raise RuntimeError(f"only {figure.sent} of {recipients} broadcast messages were sent: {statuses}")
    return DrainRun(figure, probe.figure() if probe is not None else None, sampler.figure(recipients))
