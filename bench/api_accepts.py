"""P3: single-notification accepts (``POST /api/v1/notifications``) behind a real WSGI server.

gunicorn serves ``hub.wsgi`` with ``servers`` worker processes (gthread workers of ``threads``
threads, so client connections are kept alive; or, with ``threads`` 0, sync workers, which
close each connection after its answer), as production would run it: DEBUG off, on this
run's database and broker. A load generator in another process (``bench.loadgen``) holds
``connections`` keep-alive connections and posts back to back. The accepted messages are
left queued (no Celery worker runs); their send tasks are purged from the broker after.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field

from django.conf import settings

from bench.audience import bench_api_key
from bench.cpu import CpuMeter, database_backends, process_tree
from bench.fixtures import BENCH_DATA, bench_template
from bench.floor import FLOORS
from bench.latency import PROBE_PHONE
from bench.workers import free_port, process_env, production_env, queues_purge, run_dir, web_process
from hub.celery import send_queue


@dataclass(frozen=True)
class LoadFigure:
    """One path loaded by the load generator: its figures and CPU seconds by component
    (gunicorn, postgres) over the counted seconds."""

    requests: int
    errors: int
    seconds: float
    per_second: float
    p50_ms: float
    p99_ms: float
    cpu: dict[str, float] = field(default_factory=dict)

    def cpu_ms_per_request(self) -> dict[str, float]:
        counted = max(self.requests, 1)
        return {name: round(seconds * 1000 / counted, 2) for name, seconds in self.cpu.items()}


@dataclass(frozen=True, kw_only=True)
class AcceptsFigure(LoadFigure):
    """P3: the accepts, on this deployment; and its floor views, loaded the same way."""

    servers: int
    threads: int
    connections: int
    floors: dict[str, LoadFigure] = field(default_factory=dict)


def api_accepts(
    *,
    servers: int,
    threads: int,
    connections: int,
    seconds: float,
    warmup: float,
    broker_url: str,
    floors: bool = True,
) -> AcceptsFigure:
    """Serve the API with gunicorn and load it for ``seconds`` (after ``warmup``); then, with
    ``floors``, load each floor view of the same deployment (``bench.floor``) the same way."""
    bench_template()
    issued = bench_api_key("bench accepts")
    port = free_port()
    env = process_env(broker_url, production_env())
    log = run_dir("bench-api-") / "gunicorn.log"
    body = json.dumps({"template": bench_template().key, "to": {"phone": PROBE_PHONE}, "data": BENCH_DATA})
    load = _Load(
        port=port, key=issued.raw, body=body, connections=connections, seconds=seconds, warmup=warmup
    )
    try:
        with web_process(
            port,
            log,
            env,
            servers=servers,
            threads=threads,
            extra=("--keep-alive", "30", "--backlog", "512"),
            app="bench.floor_wsgi:application",
        ) as server:
            accepts = load.run("/api/v1/notifications", server.pid)
            measured = {name: load.run(path, server.pid) for name, path in FLOORS.items()} if floors else {}
    finally:
        queues_purge(broker_url, (send_queue("sms", "transactional"),))
    return AcceptsFigure(
        servers=servers,
        threads=threads,
        connections=connections,
        floors=measured,
        **vars(accepts),
    )


@dataclass(frozen=True)
class _Load:
    port: int
    key: str
    body: str
    connections: int
    seconds: float
    warmup: float

    def run(self, path: str, server_pid: int) -> LoadFigure:
        """Post the body to ``path`` for ``seconds`` after ``warmup``; the gunicorn tree's and
        the database backends' CPU over the counted seconds."""
        load = subprocess.Popen(  # noqa: S603 - our own argv
            [
                *(sys.executable, "-m", "bench.loadgen", "--port", str(self.port), "--path", path),
                *("--key", self.key, "--body", self.body, "--connections", str(self.connections)),
                *("--seconds", str(self.seconds), "--warmup", str(self.warmup)),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=settings.BASE_DIR,
        )
        try:
            # Measured from the end of the warm-up (the loadgen counts from then on): by then
            # each gunicorn thread holds its database connection, so its backend is in the meter.
            time.sleep(self.warmup)
            # (The load generator's own CPU is not read: it has exited when the meter stops.)
            meter = CpuMeter({"gunicorn": process_tree([server_pid]), "postgres": database_backends()})
            meter.start()
            answer, err = load.communicate(timeout=self.seconds + 120)
            cpu = meter.stop(late={"postgres": database_backends()}) if CpuMeter.available() else {}
            if load.returncode != 0:
                raise RuntimeError(f"the load generator failed:\n{err.decode()}")
        finally:
            if load.poll() is None:
                load.kill()
                load.wait()
        result = json.loads(answer.decode().strip().splitlines()[-1])
        measured = {k: result[k] for k in ("requests", "errors", "seconds", "per_second", "p50_ms", "p99_ms")}
        return LoadFigure(cpu=cpu, **measured)
