"""What dispatching one message costs in-process: Python calls, SQL statements and CPU, under cProfile.

The fake providers run in a process of their own (as in ``bench``) and the real Twilio SDK
talks to them over HTTP. Messages are accepted first, unprofiled, through the batch API (the
Django test client, 1,000 a request), then dispatched in this process the two ways workers do:

- ``broadcast chunks``: ``messages_dispatch`` on ``--chunk`` (100) ids at a time, as the send
  tasks a broadcast's fan-out publishes;
- ``lane drain``: ``lane_dispatch_next`` taking up to ``--limit`` (50) queued messages of the
  lane at a time, as the drain task that single accepts wake.

Each row gives Python calls, statements (every ``execute``/``executemany``) and CPU ms per
message; calls and statements do not change with the machine's load, CPU does. Run from a
source checkout on a migrated database::

    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/switchboard_bench \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/12 REDIS_URL=redis://127.0.0.1:6379/13 \\
    python -m bench.dispatch_profile --top 40
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any
from uuid import UUID

from bench.accept_profile import Row, phone_fresh, profile_print, statements_counted


def _fakes() -> subprocess.Popen[bytes]:
    """The fake Twilio and SendGrid, their addresses put where the settings read them."""
    from bench.fakes.serve import served_env

    process = subprocess.Popen(
        [sys.executable, "-m", "bench.fakes.serve", "sendgrid", "twilio"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None  # noqa: S101 - piped above
    urls = json.loads(process.stdout.readline())
    os.environ.update(served_env(urls))
    return process


def _profiled(name: str, rounds: list[Callable[[], int]], *, top: int, save: str) -> Row:
    """Run each round (it returns how many messages it dispatched) under the profiler; the
    statements are counted in the same pass, the CPU is the profiler-free time of the rounds
    before (they alternate: even rounds timed plain, odd rounds profiled)."""
    profile = cProfile.Profile(time.process_time)
    plain_cpu = 0.0
    plain_items = profiled_items = statements = 0
    with statements_counted() as counted:
        for index, dispatch in enumerate(rounds):
            if index % 2 == 0:
                start = time.process_time()
                plain_items += dispatch()
                plain_cpu += time.process_time() - start
                continue
            before = counted[0]
            profile.enable()
            profiled_items += dispatch()
            profile.disable()
            statements += counted[0] - before
    stats = pstats.Stats(profile)
    calls = stats.total_calls  # type: ignore[attr-defined]
    profile_print(name, stats, top)
    if save:
        os.makedirs(save, exist_ok=True)
        profile.dump_stats(os.path.join(save, name.split(",")[0].replace(" ", "_") + ".prof"))
    per = max(profiled_items, 1)
    return Row(name, per, calls / per, statements / per, plain_cpu * 1000 / max(plain_items, 1))


def _dispatched(dispatch: Callable[..., Any], ids: list[UUID]) -> int:
    return int(dispatch(message_ids=ids).claimed)


def dispatch_profile(*, messages: int, chunk: int, limit: int, top: int, save: str = "") -> list[Row]:
    from django.test import Client

    from bench.audience import bench_api_key
    from bench.fixtures import BENCH_DATA, bench_template
    from hub.contacts.selectors import phone_facts_forget
    from hub.messaging.dispatch import lane_dispatch_next, messages_dispatch
    from hub.messaging.models import Message

    template = bench_template("sms")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {bench_api_key('dispatch-profile').raw}", secure=True)

    def accept(count: int) -> list[UUID]:
        ids: list[UUID] = []
        while len(ids) < count:
            items = [
                {"template": template.key, "to": {"phone": phone_fresh()}, "data": BENCH_DATA}
                for _ in range(min(1000, count - len(ids)))
            ]
            response = client.post(
                "/api/v1/notifications/batch", {"notifications": items}, content_type="application/json"
            )
            if response.status_code != 207:
                raise SystemExit(f"batch: {response.status_code} {response.content[:500]!r}")
            notes = [r["id"] for r in response.json()["results"]]
            ids += list(Message.objects.filter(notification_id__in=notes).values_list("id", flat=True))
        return ids

    rows = []
    # Warm: the connection, the provider client, the template's caches.
    messages_dispatch(message_ids=accept(chunk))
    ids = accept(2 * messages)
    phone_facts_forget()  # accepted in this process: a worker has not parsed these numbers
    chunks = [ids[i : i + chunk] for i in range(0, len(ids), chunk)]
    rounds: list[Callable[[], int]] = [partial(_dispatched, messages_dispatch, part) for part in chunks]
    rows.append(_profiled(f"broadcast chunks of {chunk}", rounds, top=top, save=save))

    lane = template.category
    accept(2 * messages)
    phone_facts_forget()

    def drain() -> int:
        taken, _ = lane_dispatch_next(channel="sms", lane=lane, limit=limit)
        return taken

    rows.append(
        _profiled(f"lane drain, up to {limit}", [drain] * (2 * messages // limit), top=top, save=save)
    )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000, help="messages profiled each way")
    parser.add_argument("--chunk", type=int, default=100)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--top", type=int, default=0, help="print the profile's top N functions")
    parser.add_argument("--save", default="", help="write each row's profile (.prof) to this folder")
    args = parser.parse_args(argv)
    fakes = _fakes()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import setup_test_environment

    from bench.fixtures import unsent_cancel
    from bench.workers import queues_purge

    setup_test_environment(debug=False)  # DEBUG off: no debug cursor, as deployed
    try:
        rows = dispatch_profile(
            messages=args.messages, chunk=args.chunk, limit=args.limit, top=args.top, save=args.save
        )
    finally:
        queues_purge(settings.CELERY_BROKER_URL)
        unsent_cancel()  # no worker will send them: P7's would, and count them
        if fakes.stdin is not None:
            fakes.stdin.close()
        fakes.wait(timeout=10)
    print(f"load average {os.getloadavg()[0]:.1f}")
    for row in rows:
        print(row.line())


if __name__ == "__main__":
    main()
