"""A small HTTP load generator for P3, run as its own process (``python -m bench.loadgen``).

``connections`` threads each hold one keep-alive ``http.client`` connection and POST the same
JSON body back to back for ``seconds`` (after ``warmup`` seconds not counted). It prints one
JSON line: requests, non-202 answers, elapsed seconds and latency percentiles. Standard
library only, so its own cost is small and it needs no Django.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import threading
import time
from typing import Any


def _worker(
    args: argparse.Namespace, body: bytes, start: float, stop: float, out: list[float], errors: list[int]
) -> None:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {args.key}"}
    conn = http.client.HTTPConnection(args.host, args.port, timeout=30)
    while True:
        sent = time.perf_counter()
        if sent >= stop:
            break
        try:
            conn.request("POST", args.path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            status = response.status
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
        except (OSError, http.client.HTTPException):
            conn.close()
            status = 0
        if sent >= start:
            out.append(time.perf_counter() - sent)
            if status != 202:
                errors.append(status)
    conn.close()


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
    print(json.dumps(run(parser.parse_args())))


if __name__ == "__main__":
    main()
