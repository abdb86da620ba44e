"""P5c: support's contact search (``hub.contacts.selectors.contacts_matching``) over a million
contacts, PostgreSQL only.

Contacts are written with COPY (only those missing: the bench database is kept), each with an
external id, an email, a phone and a name drawn from small word lists, so that a three-letter
fragment matches thousands of them as real names do. Each query is what support types: part of a
name, part of an email, a phone fragment with spaces, part of an external id, an exact id, and a
fragment that matches nobody (the case a missing index turns into a scan of every contact).
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field

from django.db import connection

from bench.bulkfill import copy_text
from bench.latency import percentile
from hub.contacts.models import Contact
from hub.contacts.selectors import contacts_matching

PREFIX = "p5c-"
FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim")
LAST = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman", "Lee")


@dataclass(frozen=True)
class ContactSearchFigure:
    contacts: int
    queries: int
    p50_ms: float
    p95_ms: float
    fill_seconds: float
    by_query_p95_ms: dict[str, float] = field(default_factory=dict)


def _row(n: int) -> str:
    rng = random.Random(n)  # noqa: S311 - synthetic data
    first, last = rng.choice(FIRST), rng.choice(LAST)
    values = (
        f"{PREFIX}{n:08d}",
        f"{first}.{last}{n}@example.com".lower(),
        f"+4479{n:08d}",
        json.dumps({"name": f"{first} {last}", "tier": rng.choice(("gold", "silver"))}),
    )
    return "\t".join(copy_text(v) for v in values) + "\tnow\tnow\t\t\n"


def contacts_fill(contacts: int) -> tuple[int, float]:
    """Add the missing bench contacts; answers (how many exist now, seconds spent)."""
    started = time.perf_counter()
    have = Contact.objects.filter(external_id__startswith=PREFIX).count()
    if have < contacts:
        columns = "external_id, email, phone, attributes, created_at, updated_at, locale, timezone"
        sql = f"COPY contacts_contact ({columns}) FROM STDIN"
        for start in range(have, contacts, 200_000):
            rows = "".join(_row(n) for n in range(start, min(start + 200_000, contacts)))
            with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
                copy.write(rows)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE contacts_contact")
    return max(have, contacts), time.perf_counter() - started


def contact_search_bench(*, contacts: int = 1_000_000, repeats: int = 20) -> ContactSearchFigure:
    total, fill_seconds = contacts_fill(contacts)
    rng = random.Random(11)  # noqa: S311 - picks search values
    times: dict[str, list[float]] = {}
    for _ in range(repeats):
        n = rng.randrange(total)
        queries = {
            "name": rng.choice(LAST)[1:5].lower(),
            "email": f"{n}@exam",
            "phone": f"79 {n:08d}"[:9],
            "external id": f"{PREFIX}{n:08d}"[2:10],
            "exact id": f"{PREFIX}{n:08d}",
            "no match": f"zq{n}x",
        }
        for kind, text in queries.items():
            started = time.perf_counter()
            list(contacts_matching(text, limit=100))
            times.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
    every = [t for ts in times.values() for t in ts]
    return ContactSearchFigure(
        contacts=total,
        queries=len(every),
        p50_ms=percentile(every, 0.5),
        p95_ms=percentile(every, 0.95),
        fill_seconds=fill_seconds,
        by_query_p95_ms={k: round(percentile(v, 0.95), 2) for k, v in times.items()},
    )


@dataclass(frozen=True)
class SegmentCountFigure:
    """A marketer's segment counted before Start (``hub.broadcasts.segments.segment_count``)."""

    contacts: int
    counts: int
    ms_by_segment: dict[str, float] = field(default_factory=dict)
    matched_by_segment: dict[str, int] = field(default_factory=dict)


def segment_count_bench(*, contacts: int = 1_000_000, repeats: int = 5) -> SegmentCountFigure:
    """Each segment counted ``repeats`` times over the P5c contacts; the median per segment.
    Half are gold, one in a hundred has a given name, none is bronze."""
    from hub.broadcasts.segments import segment_count

    total, _ = contacts_fill(contacts)
    segments = {
        "tier is gold (half)": {"tier": "gold"},
        "name is Ada Lovelace (1 %)": {"name": "Ada Lovelace"},
        "name is Ada Lovelace and tier is gold": {"name": "Ada Lovelace", "tier": "gold"},
        "tier is bronze (nobody)": {"tier": "bronze"},
    }
    ms: dict[str, float] = {}
    matched: dict[str, int] = {}
    for label, attribute_filter in segments.items():
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            matched[label] = segment_count(attribute_filter)
            times.append((time.perf_counter() - started) * 1000)
        ms[label] = round(percentile(times, 0.5), 1)
    return SegmentCountFigure(
        contacts=total, counts=repeats * len(segments), ms_by_segment=ms, matched_by_segment=matched
    )
