"""A small HTTP load generator for P3 and P7, run as its own process (``python -m bench.loadgen``).

``connections`` threads each hold one keep-alive ``http.client`` connection and POST back to
back. P3: the same JSON body for ``seconds`` (after ``warmup`` seconds not counted). P7
(``--requests N``): N requests in all, shared among the threads, each body the ``--body``
template with ``__N__`` replaced by a serial number of five digits (so each notification
goes to its own address; ``--first`` is the first number, for a warm-up apart from the counted
run); with ``--batch B``, each request carries B such items in ``{"<envelope>": [...]}``
(``--envelope``, ``notifications`` by default; ``events`` for J3) and the accepted items of
each answer are counted. It prints one
JSON line: requests, answers other than the expected status, elapsed seconds and latency
percentiles. Standard library only, so its own cost is small and it needs no Django.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import threading
import time
from typing import Any


def _post(conn: http.client.HTTPConnection, args: argparse.Namespace, body: bytes) -> tuple[int, bytes]:
    """POST ``body`` on the kept-alive ``conn``: the answer's status and body (0 if it failed)."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {args.key}"}
    try:
        conn.request("POST", args.path, body=body, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        if response.getheader("Connection", "").lower() == "close":
            conn.close()
    except (OSError, http.client.HTTPException):
        conn.close()
        return 0, b""
    return response.status, payload


def _worker(
    args: argparse.Namespace, body: bytes, start: float, stop: float, out: list[float], errors: list[int]
) -> None:
    conn = http.client.HTTPConnection(args.host, args.port, timeout=30)
    while True:
        sent = time.perf_counter()
        if sent >= stop:
            break
        status, _ = _post(conn, args, body)
        if sent >= start:
            out.append(time.perf_counter() - sent)
            if status != 202:
                errors.append(status)
    conn.close()


def _accepted_items(payload: bytes) -> int:
    """Items of a batch answer that are notifications (a problem object has a ``title``)."""
    try:
        answer = json.loads(payload)
    except ValueError:
        return 0
    items = (
        answer if isinstance(answer, list) else next((v for v in answer.values() if isinstance(v, list)), [])
    )
    return sum(1 for item in items if isinstance(item, dict) and "id" in item and "title" not in item)


class _Serials:
    """The next request's first serial number, shared by the threads (P7)."""

    def __init__(self, requests: int, per_request: int, first: int = 0) -> None:
        self.lock = threading.Lock()
        self.left = requests
        self.per_request = per_request
        self.next = first

    def take(self) -> int | None:
        with self.lock:
            if self.left <= 0:
                return None
            self.left -= 1
            first, self.next = self.next, self.next + self.per_request
            return first


def _counted_worker(
    args: argparse.Namespace, serials: _Serials, out: list[float], errors: list[int], accepted: list[int]
) -> None:
    conn = http.client.HTTPConnection(args.host, args.port, timeout=60)
    while (first := serials.take()) is not None:
        if args.batch:
            items = ",".join(args.body.replace("__N__", f"{first + i:05d}") for i in range(args.batch))
            body = f'{{"{args.envelope}": [{items}]}}'
        else:
            body = args.body.replace("__N__", f"{first:05d}")
        sent = time.perf_counter()
        status, payload = _post(conn, args, body.encode())
        out.append(time.perf_counter() - sent)
        if status != args.expect:
            errors.append(status)
        elif args.batch:
            accepted.append(_accepted_items(payload))
        else:
            accepted.append(1)
    conn.close()


def run_counted(args: argparse.Namespace) -> dict[str, Any]:
    """P7: ``args.requests`` requests shared among the threads, as fast as they are answered."""
    serials = _Serials(args.requests, max(args.batch, 1), args.first)
    latencies: list[list[float]] = [[] for _ in range(args.connections)]
    errors: list[int] = []
    accepted: list[int] = []
    threads = [
        threading.Thread(target=_counted_worker, args=(args, serials, latencies[i], errors, accepted))
        for i in range(args.connections)
    ]
    started_at = time.time()
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    ordered = sorted(x for chunk in latencies for x in chunk)
    return {
        "requests": len(ordered),
        "errors": len(errors),
        "error_statuses": sorted(set(errors))[:10],
        "accepted": sum(accepted),
        "started_at": started_at,
        "seconds": seconds,
        "per_second": len(ordered) / seconds if seconds else 0.0,
        "p50_ms": _percentile(ordered, 0.50) * 1000,
        "p99_ms": _percentile(ordered, 0.99) * 1000,
        "max_ms": (ordered[-1] if ordered else 0.0) * 1000,
    }


def _percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return 0.0
    return ordered[max(1, min(len(ordered), math.ceil(fraction * len(ordered)))) - 1]


def run(args: argparse.Namespace) -> dict[str, Any]:
    body = args.body.encode()
    start = time.perf_counter() + args.warmup
    stop = start + args.seconds
    latencies: list[list[float]] = [[] for _ in range(args.connections)]
    errors: list[int] = []
    threads = [
        threading.Thread(target=_worker, args=(args, body, start, stop, latencies[i], errors))
        for i in range(args.connections)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ordered = sorted(x for chunk in latencies for x in chunk)
    return {
        "requests": len(ordered),
        "errors": len(errors),
        "error_statuses": sorted(set(errors))[:10],
        "seconds": args.seconds,
        "per_second": len(ordered) / args.seconds if args.seconds else 0.0,
        "p50_ms": _percentile(ordered, 0.50) * 1000,
        "p99_ms": _percentile(ordered, 0.99) * 1000,
        "max_ms": (ordered[-1] if ordered else 0.0) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--key", required=True, help="the API key (Bearer)")
    parser.add_argument("--body", required=True, help="the JSON body of every request")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--requests", type=int, default=0, help="P7: this many requests in all, then stop")
    parser.add_argument("--batch", type=int, default=0, help="P7: items per request (batch API)")
    parser.add_argument("--expect", type=int, default=202, help="P7: the status of a good answer")
    parser.add_argument("--first", type=int, default=0, help="P7: the first serial number")
    parser.add_argument("--envelope", default="notifications", help="P7: the batch body's list key")
    args = parser.parse_args()
    print(json.dumps(run_counted(args) if args.requests else run(args)))


if __name__ == "__main__":
    main()
