"""The role homes at ten million messages (issue 20 point 3), PostgreSQL only: each role's
home at ``/admin/`` loaded as that role sees it, and support's search box over a million
contacts, through the whole Django stack (the test client: middleware, session, admin, the
template), warm, with the bench data of ``bench.homes_fill``.

For each home: p50/p99 of ``loads`` loads, the SQL statements of one load, the slowest of them
(by its median over the loads), and every distinct read of every load EXPLAINed: a sequential scan of a
big table (messages, notifications, events, contacts, audit records, consents, inbound) is
reported by name: "from rollups, not counts over big tables" is checked, not assumed.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse

from bench.contact_search import LAST, PREFIX
from bench.homes_fill import HomesFill, homes_fill
from bench.latency import percentile
from hub.contacts.models import Contact
from hub.roles import roles_ensure
from hub.workspace.homes import HOMES, RECENT_CONTACTS, contact_viewed

# The tables a home must never scan (their rows grow with the traffic).
BIG_TABLES = frozenset(
    {
        "messaging_message",
        "messaging_notification",
        "messaging_messageevent",
        "contacts_contact",
        "contacts_consententry",
        "contacts_inboundmessage",
        "audit_auditrecord",
        "audit_auditleaf",
    }
)
SQL_SHOWN = 160  # characters of the slowest statement kept in the figure


@dataclass(frozen=True)
class PageTiming:
    """One page loaded ``loads`` times as one role."""

    what: str
    loads: int
    p50_ms: float
    p99_ms: float
    statements: int
    slowest_ms: float
    slowest_sql: str
    big_scans: list[str] = field(default_factory=list)  # "table: statement" per Seq Scan
    status: int = 200


@dataclass(frozen=True)
class HomesFigure:
    fill: HomesFill
    pages: list[PageTiming]


def role_user(home: str) -> Any:
    """A staff user in the role group of ``home`` (``bench-homes-<home>``), made once."""
    roles_ensure()
    user, _ = get_user_model().objects.get_or_create(
        username=f"bench-homes-{home}", defaults={"is_staff": True}
    )
    user.groups.add(Group.objects.get(name=HOMES[home]))
    return user


def _plan_nodes(plan: dict[str, Any], parent: str = "") -> Iterator[tuple[dict[str, Any], str]]:
    """Each node of a plan with its parent's node type."""
    yield plan, parent
    for child in plan.get("Plans", []):
        yield from _plan_nodes(child, plan.get("Node Type", ""))


def big_scans(statements: list[str]) -> list[str]:
    """The big tables each read of ``statements`` scans sequentially (EXPLAIN, not run)."""
    found = []
    with connection.cursor() as cursor:
        for sql in statements:
            if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                continue  # the session's writes, savepoints: no plan to read
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
            row = cursor.fetchone()
            plan = row[0] if row else []
            plan = json.loads(plan) if isinstance(plan, str) else plan
            for node, parent in _plan_nodes(plan[0]["Plan"]):
                table = node.get("Relation Name", "")
                if node.get("Node Type") == "Seq Scan" and table in BIG_TABLES:
                    # Under a Limit the scan stops at the limit's rows (a common fragment):
                    # still named, for a reader to judge.
                    bound = " (under a Limit)" if parent == "Limit" else ""
                    found.append(f"{table}{bound}: {' '.join(sql.split())[:SQL_SHOWN]}")
    return found


def page_timing(
    client: Client, what: str, url: str, *, loads: int, warm: int = 3, query: Callable[[int], dict[str, str]]
) -> PageTiming:
    """``url`` loaded ``warm`` times untimed, then ``loads`` times: its timings, statements and
    big-table scans. ``query(i)`` gives the i-th load's query string."""
    for i in range(warm):
        client.get(url, query(i), secure=True)
    times: list[float] = []
    per_statement: list[list[float]] = []
    last: list[str] = []
    every: dict[str, None] = {}  # each distinct statement of every load, in order
    status = 200
    for i in range(loads):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url, query(warm + i), secure=True)
            times.append((time.perf_counter() - started) * 1000)
        status = response.status_code if response.status_code != 200 else status
        last = [q["sql"] for q in captured.captured_queries]
        every.update(dict.fromkeys(last))
        per_statement.append([float(q["time"]) * 1000 for q in captured.captured_queries])
    # The slowest statement by its median over the loads that ran as many statements as the
    # last (the first load of a session reads more: permissions, caches; a search's count
    # differs with its kind): statement k of those loads is the same read.
    same = [p for p in per_statement if len(p) == len(last)]
    medians = [statistics.median(p[k] for p in same) for k in range(len(last))]
    slowest = max(range(len(medians)), key=medians.__getitem__, default=-1)
    return PageTiming(
        what=what,
        loads=loads,
        p50_ms=round(percentile(times, 0.5), 1),
        p99_ms=round(percentile(times, 0.99), 1),
        statements=len(last),
        slowest_ms=round(medians[slowest], 2) if slowest >= 0 else 0.0,
        slowest_sql=" ".join(last[slowest].split())[:SQL_SHOWN] if slowest >= 0 else "",
        big_scans=list(dict.fromkeys(big_scans(list(every)))),
        status=status,
    )


def search_queries(contacts: int, seed: int = 7) -> Callable[[int], dict[str, str]]:
    """What support types in the home's search box, i-th of a rotation: part of a name, of an
    email, of a phone (with a space), of an external id, each in any case."""
    rng = random.Random(seed)  # noqa: S311 - picks search values
    picks = [rng.randrange(contacts) for _ in range(64)]

    def query(i: int) -> dict[str, str]:
        n = picks[i % len(picks)]
        kinds = (
            rng.choice(LAST)[1:5].upper(),  # "OVEL": Lovelace, in capitals
            f"{n}@EXAM",
            f"79 {n:08d}"[:9],
            f"{PREFIX}{n:08d}"[2:10].upper(),
        )
        return {"q": kinds[i % len(kinds)]}

    return query


def homes_bench(
    *,
    messages: int = 10_000_000,
    contacts: int = 1_000_000,
    audit_records: int = 1_000_000,
    loads: int = 50,
    log: Callable[[str], Any] = print,
) -> HomesFigure:
    fill = homes_fill(messages=messages, contacts=contacts, audit_records=audit_records, log=log)
    pages = []
    hosts = [*settings.ALLOWED_HOSTS, "testserver"]
    with override_settings(ALLOWED_HOSTS=hosts):
        support = role_user("support")
        viewed = Contact.objects.filter(external_id__startswith=PREFIX).values_list("pk", flat=True)
        for contact_id in viewed[:RECENT_CONTACTS]:
            contact_viewed(user_id=support.pk, contact_id=contact_id)
        for home in HOMES:
            client = Client()
            client.force_login(support if home == "support" else role_user(home))
            log(f"homes: {home}'s home, {loads} loads ...")
            pages.append(
                page_timing(client, f"{home} home", reverse("admin:index"), loads=loads, query=_no_query)
            )
        client = Client()
        client.force_login(support)
        log(f"homes: support's search box, {loads} searches ...")
        pages.append(
            page_timing(
                client,
                "support search box",
                reverse("admin:workspace_contacttimeline_changelist"),
                loads=loads,
                query=search_queries(fill.contacts),
            )
        )
    return HomesFigure(fill=fill, pages=pages)


def _no_query(_: int) -> dict[str, str]:
    return {}
