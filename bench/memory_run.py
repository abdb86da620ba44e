"""P6 over a plain dispatch run (``bench --only p6 --p6-via dispatch``): N queued messages sent
by the pipeline's workers, their memory sampled as in the broadcast run.

The broadcast run (P2) drains a few hundred messages a second on a shared 2-core machine, so a
million messages would take most of an hour; here the messages are written ``queued`` with COPY
(tens of thousands a second, like the P5 fill: bench data, so no acceptance records; a bulk
insert where the database has no COPY, as SQLite) a chunk ahead of the workers, and sent at the P1 rate. The bench process holds one chunk at a time and
the fake providers (their own process) only count calls, so its own memory stays flat too.
Fan-out and compliance decisions are not exercised: the broadcast run is the one for those.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from bench.bulkfill import MESSAGE_COLUMNS, NOTIFICATION_COLUMNS, copy_lines, copy_text
from bench.dispatch import PROVIDER_OF, WorkerSetup, bench_workers, fake_providers
from bench.fixtures import BENCH_ADDRESSES, BENCH_DATA, bench_template
from bench.memory import MemoryFigure, RssSampler
from bench.workers import queues_purge, wait_for
from hub.ids import uuid7
from hub.messaging.dispatch import enqueue
from hub.messaging.models import Message, Notification
from hub.messaging.models import MessageStatus as S

CHUNK = 20_000  # messages created and enqueued at a time
P6_REFERENCE = "bench:p6"


def _copy_field(value: Any) -> str:
    """One field in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dict | list):
        value = json.dumps(value)
    elif isinstance(value, datetime):
        value = value.isoformat()
    return copy_text(str(value))


def _fill(model: type[Model], columns: str, rows: list[tuple[Any, ...]]) -> None:
    """Write ``rows`` (values in the order of ``columns``): COPY on PostgreSQL, a bulk insert
    elsewhere (SQLite, the default database of a fresh clone, has no COPY)."""
    if connection.vendor == "postgresql":
        lines = ("\t".join(_copy_field(v) for v in row) + "\n" for row in rows)
        copy_lines(f"COPY {model._meta.db_table} ({columns}) FROM STDIN", lines)
        return
    names = [c.strip().strip('"') for c in columns.split(",")]
    model._default_manager.bulk_create(
        (model(**dict(zip(names, row, strict=True))) for row in rows), batch_size=2000
    )


def queued_fill(*, count: int, channel: str) -> list[UUID]:
    """``count`` queued messages on ``channel`` (one notification each, the bench template's
    data, the bench address), written with COPY on PostgreSQL; returns their ids in creation
    order."""
    template = bench_template(channel)
    address = BENCH_ADDRESSES[channel]
    to = {"email" if channel == "email" else "phone": address}
    at = timezone.now()
    # UUIDv7s of one millisecond are not ordered among themselves: sorted, a chunk's first and
    # last ids bound it.
    pairs = sorted(((uuid7(), uuid7()) for _ in range(count)), key=lambda pair: pair[1])
    notifications: list[tuple[Any, ...]] = [
        (
            n,
            template.pk,
            template.live_version_id,
            None,
            to,
            BENCH_DATA,
            [channel],
            "first",
            "en",
            P6_REFERENCE,
            at,
        )
        for n, _ in pairs
    ]
    messages: list[tuple[Any, ...]] = [
        (
            m,
            n,
            channel,
            template.category,
            address,
            "en",
            S.QUEUED,
            "",
            0,
            "",
            "",
            "",
            "",
            False,
            {},
            {},
            "",
            at,
            at,
        )
        for n, m in pairs
    ]
    with transaction.atomic():
        _fill(Notification, NOTIFICATION_COLUMNS, notifications)
        _fill(Message, MESSAGE_COLUMNS, messages)
    return [message_id for _, message_id in pairs]


def dispatch_memory_run(
    *, messages: int, channel: str, setup: WorkerSetup, batch_size: int, timeout: float
) -> MemoryFigure:
    """Send ``messages`` queued messages on ``channel`` through ``setup``'s workers and follow
    their memory. Raises RuntimeError if any of them ends other than sent."""
    queues_purge(setup.broker_url)
    provider = PROVIDER_OF[channel]
    with fake_providers() as providers, bench_workers(setup, providers, [channel]) as pids:
        units_before = providers.counts(provider)[1]

        def done() -> int:
            return providers.counts(provider)[1] - units_before

        first: UUID | None = None
        last: UUID | None = None
        with RssSampler(pids, done, interval=1.0) as sampler:
            for start in range(0, messages, CHUNK):
                ids = queued_fill(count=min(CHUNK, messages - start), channel=channel)
                first, last = first or ids[0], ids[-1]
                enqueue(ids, channel=channel, category="transactional", batch_size=batch_size)
            wait_for(
                lambda: done() >= messages,
                timeout=timeout,
                what=f"{messages:,} messages to reach the provider",
                interval=1.0,
            )
    sent = Message.objects.filter(id__gte=first, id__lte=last, status=S.SENT).count()
    if sent != messages:
        raise RuntimeError(f"P6: only {sent:,} of {messages:,} messages were sent; see the worker logs")
    return sampler.figure(messages)
