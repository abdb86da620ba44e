"""P6 over a plain dispatch run (``bench --only p6 --p6-via dispatch``): N queued messages sent
by the pipeline's workers, their memory sampled as in the broadcast run.

The broadcast run (P2) drains a few hundred messages a second on a shared 2-core machine, so a
million messages would take most of an hour; here the messages are written ``queued`` with COPY
(tens of thousands a second, like the P5 fill: bench data, so no acceptance records) a chunk
ahead of the workers, and sent at the P1 rate. The bench process holds one chunk at a time and
the fake providers (their own process) only count calls, so its own memory stays flat too.
Fan-out and compliance decisions are not exercised: the broadcast run is the one for those.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from bench.bulkfill import MESSAGE_COLUMNS, NOTIFICATION_COLUMNS, _copy
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


def queued_fill(*, count: int, channel: str) -> list[UUID]:
    """``count`` queued messages on ``channel`` (one notification each, the bench template's
    data, the bench address), written with COPY; returns their ids in creation order."""
    template = bench_template(channel)
    address = BENCH_ADDRESSES[channel]
    to = json.dumps({"email" if channel == "email" else "phone": address})
    data = json.dumps(BENCH_DATA)
    at = timezone.now().isoformat()
    # UUIDv7s of one millisecond are not ordered among themselves: sorted, a chunk's first and
    # last ids bound it.
    pairs = sorted(((uuid7(), uuid7()) for _ in range(count)), key=lambda pair: pair[1])

    def notifications() -> Iterator[str]:
        for notification_id, _ in pairs:
            yield (
                f"{notification_id}\t{template.pk}\t{template.live_version_id}\t\\N\t{to}\t{data}\t"
                f'["{channel}"]\tfirst\ten\t{P6_REFERENCE}\t{at}\n'
            )

    def messages() -> Iterator[str]:
        for notification_id, message_id in pairs:
            yield (
                f"{message_id}\t{notification_id}\t{channel}\t{template.category}\t{address}\ten\t{S.QUEUED}\t"
                f"\t0\t\t\t\t\tf\t{{}}\t{{}}\t\t{at}\t{at}\n"
            )

    with transaction.atomic():
        _copy(f"COPY {Notification._meta.db_table} ({NOTIFICATION_COLUMNS}) FROM STDIN", notifications())
        _copy(f"COPY {Message._meta.db_table} ({MESSAGE_COLUMNS}) FROM STDIN", messages())
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
