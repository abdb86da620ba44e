"""What one accept costs in-process: Python calls, SQL statements and CPU, under cProfile.

The Django test client drives the whole middleware and DRF stack (no HTTP, no WSGI server)
against the configured database and broker (PostgreSQL and Redis for figures worth keeping),
with DEBUG off as the tests run (``setup_test_environment``), so Django keeps no query log:

- ``--accepts`` (300) warm single ``POST /api/v1/notifications`` to an inline phone number each,
  then as many to a contact (``bench-contact``), each under ``cProfile.Profile(time.process_time)``
  (the CPU figure is taken on as many more, unprofiled);
- ``--batches`` (3) warm batch requests of ``--batch-size`` (1,000) inline numbers.

Each row gives Python calls per accept (or per batch item), the statements the database was
sent (counted apart, on ``--count`` more accepts, by an ``execute_wrapper``: every ``execute``
and ``executemany``, the accept's ``BEGIN``/``COMMIT`` not included), and CPU ms each. Calls
and statements do not change with the machine's load; CPU does. Run from a source checkout on
a migrated database::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/switchboard_bench \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/12 REDIS_URL=redis://127.0.0.1:6379/13 \\
    python -m bench.accept_profile --top 40

The accepted messages are cancelled after (no worker sends them) and their send tasks purged.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import os
import pstats
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

PATH = "/api/v1/notifications"
CONTACT = "bench-contact"
_numbers = itertools.count(int(time.time()) % 1_000_000)


def phone_fresh() -> str:
    """A fresh valid UK mobile number (each accept its own, as the P7 load sends)."""
    return f"+4479{next(_numbers) % 100_000_000:08d}"


@dataclass(frozen=True)
class Row:
    name: str
    items: int
    calls: float
    statements: float
    cpu_ms: float

    def line(self) -> str:
        return (
            f"{self.name:<28} {self.items:>6} items  {self.calls:>9,.0f} calls  "
            f"{self.statements:>6.2f} statements  {self.cpu_ms:>7.3f} ms CPU  (per item)"
        )


@contextmanager
def statements_counted() -> Iterator[list[int]]:
    from django.db import connection

    counted = [0]

    def count(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        counted[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        yield counted


def _measure(
    name: str, post: Callable[[], None], *, times: int, items: int, count: int, top: int, save: str
) -> Row:
    for _ in range(5):  # warm: caches, generations, the connection
        post()
    with statements_counted() as counted:
        for _ in range(count):
            post()
    # CPU without the profiler (which costs more than the code it times), then the profile.
    cpu = time.process_time()
    for _ in range(times):
        post()
    cpu = time.process_time() - cpu
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    for _ in range(times):
        post()
    profile.disable()
    if save:
        os.makedirs(save, exist_ok=True)
        profile.dump_stats(os.path.join(save, name.replace(" ", "_").replace(",", "") + ".prof"))
    stats = pstats.Stats(profile)
    calls = stats.total_calls  # type: ignore[attr-defined]
    row = Row(
        name, items, calls / (times * items), counted[0] / (count * items), cpu * 1000 / (times * items)
    )
    profile_print(name, stats, top)
    return row


def profile_print(name: str, stats: pstats.Stats, top: int) -> None:
    """The ``top`` functions of a profile, by cumulative and by own time (none when 0)."""
    if top:
        out = io.StringIO()
        stats.stream = out  # type: ignore[attr-defined]
        stats.sort_stats("cumulative").print_stats(top)
        stats.sort_stats("tottime").print_stats(top)
        print(f"=== {name}\n{out.getvalue()}")


def accept_profile(
    *, accepts: int, batches: int, batch_size: int, count: int, top: int, save: str = ""
) -> list[Row]:
    """The rows above (the database must be migrated; its bench data is made once). Call it
    under Django's test environment (``main`` sets it up: DEBUG off, ``testserver`` allowed)."""
    from django.test import Client

    from bench.audience import bench_api_key
    from bench.fixtures import BENCH_DATA, bench_template
    from hub.contacts.models import Contact

    template = bench_template("sms")
    Contact.objects.get_or_create(
        external_id=CONTACT,
        defaults={"phone": "+447911123456", "locale": "en-GB", "timezone": "Europe/London"},
    )
    issued = bench_api_key("accept-profile")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issued.raw}", secure=True)

    def post(body: dict[str, Any], path: str = PATH, expect: int = 202) -> None:
        response = client.post(path, body, content_type="application/json")
        if response.status_code != expect:
            raise SystemExit(f"{path}: {response.status_code} {response.content[:500]!r}")

    def inline() -> None:
        post({"template": template.key, "to": {"phone": phone_fresh()}, "data": BENCH_DATA})

    def to_contact() -> None:
        post({"template": template.key, "to": {"external_id": CONTACT}, "data": BENCH_DATA})

    def batch() -> None:
        items = [
            {"template": template.key, "to": {"phone": phone_fresh()}, "data": BENCH_DATA}
            for _ in range(batch_size)
        ]
        post({"notifications": items}, f"{PATH}/batch", 207)

    rows = [
        _measure("single, inline number", inline, times=accepts, items=1, count=count, top=top, save=save),
        _measure("single, to a contact", to_contact, times=accepts, items=1, count=count, top=top, save=save),
    ]
    if batches:
        rows.append(
            _measure(
                f"batch of {batch_size}", batch, times=batches, items=batch_size, count=1, top=top, save=save
            )
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accepts", type=int, default=300)
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--count", type=int, default=20, help="accepts whose statements are counted")
    parser.add_argument("--top", type=int, default=0, help="print the profile's top N functions")
    parser.add_argument("--save", default="", help="write each row's profile (.prof) to this folder")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import setup_test_environment

    from bench.fixtures import unsent_cancel
    from bench.workers import queues_purge

    # DEBUG off as in the tests and as deployed (with DEBUG=1 in the environment it stayed on,
    # and every statement went through the debug cursor), 'testserver' allowed.
    setup_test_environment(debug=False)

    rows = accept_profile(
        accepts=args.accepts,
        batches=args.batches,
        batch_size=args.batch_size,
        count=args.count,
        top=args.top,
        save=args.save,
    )
    queues_purge(settings.CELERY_BROKER_URL)
    unsent_cancel()  # no worker will send them: P7's would, and count them
    print(f"load average {os.getloadavg()[0]:.1f}")
    for row in rows:
        print(row.line())


if __name__ == "__main__":
    main()
