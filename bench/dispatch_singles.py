"""Single sends through the real API, end to end (issue 16, point 4): how long an idle accept
waits for its provider hand-off, and how fast sixteen services sending one message each are
dispatched.

Runs the documented deployment on this run's database and broker: gunicorn (2 processes x 4
threads, DEBUG off) and one worker (prefork, -c 2) on every queue, with the fake Twilio server
as the SMS provider. Each latency runs from the moment the API answered 202 to the message's
``sent`` event (written once Twilio's answer is recorded), as bench P4 measures it.

    DEBUG=1 DATABASE_URL=... CELERY_BROKER_URL=... REDIS_URL=... python -m bench.dispatch_singles \
        --idle 200 --burst 2000 --clients 16

The database must be migrated (``manage.py migrate``). Messages it creates stay in it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402

from bench.audience import bench_api_key  # noqa: E402
from bench.fakes.twilio import fake_twilio_env, start_fake_twilio  # noqa: E402
from bench.fixtures import BENCH_DATA, bench_template, queued_messages_create  # noqa: E402
from bench.latency import percentile  # noqa: E402
from bench.workers import (  # noqa: E402
    free_port,
    process_env,
    production_env,
    queues_purge,
    web_process,
    worker_processes,
)
from hub.messaging.models import MessageEvent  # noqa: E402
from hub.messaging.models import MessageStatus as S  # noqa: E402


class Client:
    """One service: a keep-alive connection posting single notifications."""

    def __init__(self, port: int, key: str, phone: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        self.body = json.dumps({"template": "bench.sms", "to": {"phone": phone}, "data": BENCH_DATA})

    def send(self) -> tuple[UUID, datetime, float]:
        started = time.perf_counter()
        self.conn.request("POST", "/api/v1/notifications", body=self.body, headers=self.headers)
        response = self.conn.getresponse()
        payload = response.read()
        answered = datetime.now(UTC)
        if response.status != 202:
            raise RuntimeError(f"{response.status}: {payload[:300]!r}")
        (message,) = json.loads(payload)["messages"]
        return UUID(message["id"]), answered, (time.perf_counter() - started) * 1000


def sent_at(ids: list[UUID]) -> dict[UUID, datetime]:
    rows = MessageEvent.objects.filter(message_id__in=ids, status=S.SENT).values_list(
        "message_id", "occurred_at"
    )
    return dict(rows)


def wait_sent(ids: list[UUID], timeout: float) -> dict[UUID, datetime]:
    deadline = time.monotonic() + timeout
    while True:
        done = sent_at(ids)
        if len(done) == len(ids) or time.monotonic() > deadline:
            return done
        time.sleep(0.005 if len(ids) == 1 else 0.2)


def claim_sizes(ids: list[UUID]) -> list[int]:
    stamps: dict[datetime, int] = {}
    for at in MessageEvent.objects.filter(message_id__in=ids, status=S.SENDING).values_list(
        "occurred_at", flat=True
    ):
        stamps[at] = stamps.get(at, 0) + 1
    return list(stamps.values())


def idle(client: Client, count: int) -> dict[str, float]:
    millis = []
    for _ in range(count):
        message_id, answered, _ = client.send()
        done = wait_sent([message_id], timeout=10)
        if message_id in done:
            millis.append((done[message_id] - answered).total_seconds() * 1000)
        time.sleep(0.05)  # idle: the worker has nothing else to do
    return {
        "sends": count,
        "handed_off": len(millis),
        "p50_ms": round(percentile(millis, 0.5), 1),
        "p90_ms": round(percentile(millis, 0.9), 1),
        "p99_ms": round(percentile(millis, 0.99), 1),
    }


def burst(port: int, key: str, clients: int, total: int) -> dict[str, float]:
    per_client = total // clients
    accepted: list[tuple[UUID, datetime, float]] = []
    errors: list[BaseException] = []

    def service(n: int) -> None:
        client = Client(port, key, f"+4479111{n:05d}")
        try:
            for _ in range(per_client):
                accepted.append(client.send())
        except BaseException as exc:  # noqa: BLE001 - reported
            errors.append(exc)

    threads = [threading.Thread(target=service, args=(n,)) for n in range(clients)]
    start = time.perf_counter()
    started_at = datetime.now(UTC)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    accept_seconds = time.perf_counter() - start
    if errors:
        raise RuntimeError(errors[:3])
    ids = [a[0] for a in accepted]
    done = wait_sent(ids, timeout=600)
    last = max(done.values())
    end_to_end = (last - started_at).total_seconds()
    sizes = claim_sizes(ids)
    latencies = [a[2] for a in accepted]
    return {
        "clients": clients,
        "sends": len(ids),
        "sent": len(done),
        "accepts_per_s": round(len(ids) / accept_seconds, 1),
        "accept_p50_ms": round(percentile(latencies, 0.5), 1),
        "accept_p99_ms": round(percentile(latencies, 0.99), 1),
        "end_to_end_s": round(end_to_end, 2),
        "end_to_end_msgs_per_s": round(len(done) / end_to_end, 1),
        "claims": len(sizes),
        "mean_claim": round(sum(sizes) / max(1, len(sizes)), 1),
        "largest_claim": max(sizes, default=0),
    }


def backlog(count: int) -> dict[str, float]:
    """One drain alone: ``count`` messages already queued in one lane, one wake."""
    from hub.messaging.dispatch import lane_wake

    ids = queued_messages_create(count=count, phone="+447911123456")
    start = time.perf_counter()
    started_at = datetime.now(UTC)
    lane_wake("sms", "transactional")
    done = wait_sent(ids, timeout=600)
    seconds = (max(done.values()) - started_at).total_seconds()
    sizes = claim_sizes(ids)
    return {
        "messages": count,
        "sent": len(done),
        "seconds": round(seconds, 2),
        "msgs_per_s": round(len(done) / seconds, 1),
        "claims": len(sizes),
        "wall_s": round(time.perf_counter() - start, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--idle", type=int, default=200, help="single sends one at a time")
    parser.add_argument("--burst", type=int, default=2000, help="single sends from --clients at once")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--backlog", type=int, default=0, help="queued messages one drain sends alone")
    args = parser.parse_args()
    broker = settings.CELERY_BROKER_URL
    queues_purge(broker)
    bench_template("sms")
    key = bench_api_key("dispatch-singles").raw
    twilio = start_fake_twilio(keep_calls=False)
    env = process_env(
        broker, {**production_env(), **fake_twilio_env(twilio), "HUB_SANDBOX_DELIVERY_DELAY": "0"}
    )
    Path(settings.VAR_DIR).mkdir(parents=True, exist_ok=True)
    logs = Path(tempfile.mkdtemp(prefix="dispatch-singles-", dir=settings.VAR_DIR))
    port = free_port()
    results: dict[str, object] = {}
    try:
        with (
            web_process(port, logs / "gunicorn.log", env, servers=2, threads=4),
            worker_processes(broker, logs, pool="prefork", concurrency=2, extra_env=env),
        ):
            warm = Client(port, key, "+447911100000")
            for _ in range(20):  # warm both gunicorn processes and the worker's children
                warm.send()
            time.sleep(2)
            results["idle"] = idle(warm, args.idle)
            print("idle accept -> hand-off:", results["idle"], flush=True)
            results["burst"] = burst(port, key, args.clients, args.burst)
            print("burst:", results["burst"], flush=True)
            if args.backlog:
                results["backlog"] = backlog(args.backlog)
                print("one drain, backlog:", results["backlog"], flush=True)
    finally:
        twilio.stop()
        queues_purge(broker)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
