"""P1: end-to-end dispatch throughput, the real pipeline against the naive baseline."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from django.conf import settings

from hub.bench.fixtures import queued_messages_create
from hub.bench.naive import naive_send
from hub.bench.workers import wait_for, worker_processes
from hub.celery import send_queue
from hub.messaging.dispatch import enqueue
from hub.messaging.models import Message
from hub.messaging.models import MessageStatus as S

QUEUE = send_queue("sms", "transactional")
PHONE = "+447911123456"


@dataclass(frozen=True)
class DispatchFigure:
    name: str
    messages: int
    seconds: float
    provider_calls: int

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


def _drain(ids: list[UUID], timeout: float) -> None:
    wait_for(
        lambda: not Message.objects.filter(id__in=ids, status__in=[S.QUEUED, S.SENDING]).exists(),
        timeout=timeout,
        what="every message to leave queued/sending",
        interval=0.2,
    )


def dispatch_run(
    *,
    name: str,
    count: int,
    workers: int,
    concurrency: int,
    broker_url: str,
    provider_env: dict[str, str],
    calls: CallCounter,
    naive: bool,
    timeout: float,
) -> DispatchFigure:
    """Create ``count`` queued messages, start workers, enqueue, and time until all are sent."""
    ids = queued_messages_create(count=count, phone=PHONE)
    log_dir = Path(tempfile.mkdtemp(prefix=f"bench-{name}-", dir=settings.VAR_DIR))
    with worker_processes(
        broker_url,
        log_dir,
        count=workers,
        pool="prefork",
        concurrency=concurrency,
        extra_env=provider_env,
        queues=(QUEUE,),
    ):
        before = calls()
        started = time.perf_counter()
        if naive:
            for message_id in ids:
                naive_send.apply_async((str(message_id),), queue=QUEUE)
        else:
            enqueue(ids, channel="sms", category="transactional")
        _drain(ids, timeout)
        elapsed = time.perf_counter() - started
        provider_calls = calls() - before
    sent = Message.objects.filter(id__in=ids, status=S.SENT).count()
    if sent != count:
        raise RuntimeError(f"{name}: only {sent} of {count} messages were sent; see {log_dir}")
    return DispatchFigure(name, count, elapsed, provider_calls)


class CallCounter:
    """Counts the provider calls the fake received (a callable, so runs can diff it)."""

    def __init__(self, server: object) -> None:
        self.server = server

    def __call__(self) -> int:
        return len(self.server.calls)  # type: ignore[attr-defined]
