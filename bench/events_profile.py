"""What one event costs in-process: Python calls, SQL statements and CPU, under cProfile
(issue 17.10; the events' counterpart of ``bench.accept_profile``, measured the same way).

Every event starts a run of the bench journey (``bench_events``: triggered by ``bench.event``,
one step that waits), each for a contact of its own among ``--contacts`` (made once, by COPY):

- ``service, one by one``: ``event_record`` (J2's service path), ``--events`` (300) times;
- ``service, in bulk``: ``events_record`` of ``--batch-size`` (1,000) events (J3's), ``--batches``
  (3) times;
- ``HTTP, one by one`` and ``HTTP, in bulk``: the same through the Django test client
  (``POST /api/v1/events``, ``POST /api/v1/events/batch``: middleware, DRF, the view's parsing
  and answer; no WSGI server).

With ``--gc-as-web`` the collector is tuned as in a web process (``hub.wsgi``) first, so
the CPU figures are those of gunicorn's workers. Each row gives Python calls per event, statements per event (``BEGIN``/``COMMIT`` not
included) and CPU ms per event (taken unprofiled). Calls and statements do not change with the
machine's load; CPU does. Run from a source checkout on a migrated database::

    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/switchboard_bench \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/12 REDIS_URL=redis://127.0.0.1:6379/13 \\
    python -m bench.events_profile --top 40
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from collections.abc import Callable
from typing import Any

from bench.accept_profile import Row, _measure

PATH = "/api/v1/events"
NAME = "bench.event"


def events_profile(
    *, events: int, batches: int, batch_size: int, contacts: int, count: int, top: int, save: str = ""
) -> list[Row]:
    """The rows above (the database must be migrated; its bench data is made once). Call it
    under Django's test environment (``main`` sets it up: DEBUG off, ``testserver`` allowed)."""
    from django.test import Client

    from bench.audience import bench_api_key
    from bench.journeys import bench_contacts, bench_journey
    from hub.journeys.events import EventInput, event_record, events_record

    bench_journey("bench_events", [{"id": "nap", "type": "wait", "duration": "1h"}], NAME)
    size = max(contacts, batch_size)
    bench_contacts(size, "bench-p")
    serial = itertools.count(int(time.time() * 1000))
    issued = bench_api_key("events-profile")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issued.raw}", secure=True)

    def body(n: int) -> dict[str, Any]:
        return {
            "name": NAME,
            "contact": {"external_id": f"bench-p-{n % size}"},
            "data": {"n": n},
            "id": f"p-{n}",
        }

    def item(n: int) -> EventInput:
        return EventInput(name=NAME, contact=f"bench-p-{n % size}", data={"n": n}, id=f"p-{n}")

    def post(payload: dict[str, Any], path: str, expect: int) -> None:
        response = client.post(path, payload, content_type="application/json")
        if response.status_code != expect:
            raise SystemExit(f"{path}: {response.status_code} {response.content[:500]!r}")

    def one() -> None:
        event_record(item=item(next(serial)), api_key=None)

    def bulk() -> None:
        start = next(serial) * batch_size
        events_record(items=[item(start + i) for i in range(batch_size)], api_key=None)

    def http_one() -> None:
        post(body(next(serial)), PATH, 202)

    def http_bulk() -> None:
        start = next(serial) * batch_size
        post({"events": [body(start + i) for i in range(batch_size)]}, f"{PATH}/batch", 207)

    def measure(name: str, work: Callable[[], None], times: int, items: int, counted: int) -> Row:
        return _measure(name, work, times=times, items=items, count=counted, top=top, save=save)

    rows = [
        measure("service, one by one", one, events, 1, count),
        measure("HTTP, one by one", http_one, events, 1, count),
    ]
    if batches:
        rows += [
            measure(f"service, in bulk of {batch_size}", bulk, batches, batch_size, 1),
            measure(f"HTTP, in bulk of {batch_size}", http_bulk, batches, batch_size, 1),
        ]
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for option, default, say in (
        ("--events", 300, "single events profiled (and as many timed)"),
        ("--batches", 3, "batches profiled (and as many timed)"),
        ("--batch-size", 1000, "events a batch"),
        ("--contacts", 5000, "the bench contacts events are for"),
        ("--count", 20, "events whose statements are counted"),
        ("--top", 0, "print the profile's top N functions"),
    ):
        parser.add_argument(option, type=int, default=default, help=say)
    parser.add_argument("--save", default="", help="write each row's profile (.prof) to this folder")
    parser.add_argument(
        "--gc-as-web",
        action="store_true",
        help="tune garbage collection as a web process does (hub.wsgi: everything imported frozen, "
        "young objects collected less often); without it a batch's CPU is a third collection",
    )
    args = parser.parse_args(argv)
    as_web = args.__dict__.pop("gc_as_web")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
    import django

    django.setup()
    from django.test.utils import setup_test_environment

    # DEBUG off as in the tests and as deployed (with DEBUG=1 in the environment it stayed on,
    # and every statement went through the debug cursor), 'testserver' allowed.
    setup_test_environment(debug=False)
    if as_web:
        from hub.collector import web_collector_tune

        web_collector_tune()  # as gunicorn's workers have it (hub.wsgi)
    rows = events_profile(**vars(args))
    print(f"load average {os.getloadavg()[0]:.1f}")
    for row in rows:
        # Statements per event to four places: a batch's are a few for 1,000 events.
        print(row.line().replace(f"{row.statements:>6.2f} statements", f"{row.statements:>6.4f} statements"))


if __name__ == "__main__":
    main()
