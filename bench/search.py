"""P5: the compliance workspace's message search and pages over a big trail, and
``verify_audit``'s rate over every record.

Searches go through the workspace's own selector (``hub.workspace.search.messages_search``,
keyset pages of 50) with the filters an officer uses: none, an address, a contact, a
template, blocked for a reason, a rule, a day, and a channel and status over a week; each
first page and the page after it, ``repeats`` times with different values. The database is
filled first by ``bench.bulkfill`` (only what is missing).
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from audit.bench import bench_verify_audit
from audit.models import AuditRecord
from bench.bulkfill import audit_fill_fast, message_fill_fast, message_pool
from bench.latency import percentile
from hub.workspace.search import MessageFilters, messages_search


@dataclass(frozen=True)
class SearchFigure:
    records: int  # audit records in the trail
    messages: int  # bench messages searched among
    queries: int
    p50_ms: float
    p95_ms: float
    by_query_p95_ms: dict[str, float] = field(default_factory=dict)
    verify_records: int = 0
    verify_seconds: float = 0.0
    verify_ok: bool = True
    fill_seconds: float = 0.0
    sequenced: int = 0  # records the sequencer put into the log before verifying
    sequence_seconds: float = 0.0

    @property
    def verify_per_second(self) -> float:
        return self.verify_records / self.verify_seconds if self.verify_seconds else 0.0

    @property
    def sequenced_per_second(self) -> float:
        return self.sequenced / self.sequence_seconds if self.sequence_seconds else 0.0


def _filters(rng: random.Random, contacts: list[tuple[int, str, str]]) -> list[tuple[str, MessageFilters]]:
    """One set of the officer's searches, with values drawn from the fill."""
    today = timezone.now().date()
    _, external_id, phone = rng.choice(contacts)
    day = today - timedelta(days=rng.randrange(1, 360))
    return [
        ("everything", MessageFilters()),
        ("address", MessageFilters(address=phone)),
        ("contact", MessageFilters(contact=external_id)),
        ("template", MessageFilters(template="bench.promo")),
        ("blocked, no consent", MessageFilters(status="blocked", block_reason="no_consent")),
        ("rule", MessageFilters(rule="opt_out")),
        ("one day", MessageFilters(date_from=day, date_to=day)),
        (
            "email failed, one week",
            MessageFilters(channel="email", status="failed", date_from=day - timedelta(days=6), date_to=day),
        ),
    ]


def search_timings(*, repeats: int, seed: int = 11) -> dict[str, list[float]]:
    """Milliseconds per page (first and next) for each kind of search."""
    rng = random.Random(seed)  # noqa: S311 - picks search values
    contacts = message_pool(0).contacts
    timings: dict[str, list[float]] = defaultdict(list)
    for _ in range(repeats):
        for name, filters in _filters(rng, contacts):
            started = time.perf_counter()
            page = messages_search(filters=filters)
            timings[f"{name}, first page"].append((time.perf_counter() - started) * 1000)
            if page.next_cursor:
                started = time.perf_counter()
                messages_search(filters=filters, cursor=page.next_cursor)
                timings[f"{name}, next page"].append((time.perf_counter() - started) * 1000)
    return timings


def search_bench(
    *, records: int, messages: int, repeats: int, pending: int = 0, verify: bool = True
) -> SearchFigure:
    """Fill to ``records`` audit records and ``messages`` messages, then time the searches, the
    sequencer over ``pending`` records and one full ``verify_audit``.

    All but ``pending`` records are filled already in the Merkle log (their leaves written by
    the fill, as the sequencer would), so that a 10M log costs a fill and a verification, not
    an hour of sequencing; the last ``pending`` are left to the sequencer, which is timed on
    them. On a database filled before, ``pending`` more records are added for it."""
    started = time.perf_counter()
    message_fill_fast(messages=messages)
    audit_fill_fast(records=max(records - pending, 0), sequenced=True)
    have = AuditRecord.objects.count()
    audit_fill_fast(records=records if have < records else have + pending)
    fill_seconds = time.perf_counter() - started
    messages_search(filters=MessageFilters())  # warm the connection and the plan cache
    timings = search_timings(repeats=repeats)
    every = [ms for values in timings.values() for ms in values]
    verified = bench_verify_audit(records=0) if verify else None
    return SearchFigure(
        records=records,
        messages=messages,
        queries=len(every),
        p50_ms=percentile(every, 0.50),
        p95_ms=percentile(every, 0.95),
        by_query_p95_ms={name: percentile(values, 0.95) for name, values in timings.items()},
        verify_records=verified.records if verified else 0,
        verify_seconds=verified.seconds if verified else 0.0,
        verify_ok=verified.ok if verified else True,
        fill_seconds=fill_seconds,
        sequenced=verified.sequenced if verified else 0,
        sequence_seconds=verified.sequence_seconds if verified else 0.0,
    )
