"""Starting and stopping real Celery worker processes (benchmark and tests)."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from audit.digests import DEV_DIGEST_KEYS, digest_keys_parse
from hub.celery import ALL_QUEUES, app
from hub.dbroles.owner import OWNER_ALIAS, roles_separated
from hub.messaging.wakes import wake_flags_clear_all

# The Celery app of the workers the bench starts (see bench.worker).
BENCH_APP = "bench.worker"


def free_port() -> int:
    """A TCP port on 127.0.0.1 free now (for a server this run starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run_dir(prefix: str) -> Path:
    """A fresh directory under the hub's ``var/`` for one run's logs and profiles (``var/`` is
    made first: a fresh clone has none)."""
    settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=settings.VAR_DIR))


def current_database_url(alias: str = DEFAULT_DB_ALIAS) -> str:
    """A URL for the database this process is using (in tests, the test database)."""
    db = connections[alias].settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def wait_for(condition: Callable[[], Any], *, timeout: float, what: str, interval: float = 0.1) -> Any:
    """Poll ``condition`` until it is truthy; raise AssertionError naming ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def process_env(broker_url: str, extra_env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for a child process (worker, WSGI server) on this process's database and broker."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hub.settings",
        "DEBUG": "1" if settings.DEBUG else "0",
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": ",".join(settings.ALLOWED_HOSTS),
        "DATABASE_URL": current_database_url(),
        # The schema owner on the same database, when the hub runs as a role of its own.
        **({"MIGRATE_DATABASE_URL": current_database_url(OWNER_ALIAS)} if roles_separated() else {}),
        "CELERY_BROKER_URL": broker_url,
        "HUB_VAR_DIR": str(settings.VAR_DIR),
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }


def production_env() -> dict[str, str]:
    """Overrides that run a child process as production would: DEBUG off (so Django keeps no
    query log), with a throwaway secret key (the development key is refused with DEBUG off),
    plain HTTP on 127.0.0.1, and this process's digest keys (so existing suppressions are
    found), behind a throwaway newest key when the newest is the development one (refused
    with DEBUG off)."""
    keys = [f"{k.id}:{k.secret}" for k in settings.HUB_DIGEST_KEYS]
    if settings.HUB_DIGEST_KEYS[:1] == digest_keys_parse(DEV_DIGEST_KEYS):
        keys.insert(0, f"bench:{secrets.token_urlsafe(32)}")
    return {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(32),
        "ALLOWED_HOSTS": "127.0.0.1",
        "HUB_HTTPS_ONLY": "0",
        "HUB_DIGEST_KEYS": ",".join(keys),
    }


def queues_purge(broker_url: str, queues: tuple[str, ...] = ALL_QUEUES) -> None:
    """Empty these queues on the bench's broker (tasks left by an earlier, aborted run), and
    forget the lanes' wakes: the drains they stood for are gone with the queues."""
    with app.connection_for_write(broker_url) as conn:
        channel: Any = conn.default_channel
        for queue in queues:
            with contextlib.suppress(Exception):  # a queue never declared is empty
                channel.queue_purge(queue)
    wake_flags_clear_all()


@contextmanager
def worker_processes(
    broker_url: str,
    log_dir: Path,
    *,
    count: int = 1,
    pool: str = "threads",
    concurrency: int = 4,
    extra_env: Mapping[str, str] | None = None,
    queues: tuple[str, ...] = ALL_QUEUES,
    app_module: str = "hub",
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Start ``count`` workers on the same database and broker as this process; warm-stop them after.
    The bench's own workers run ``app_module=BENCH_APP`` (the hub's app and the bench's tasks)."""
    env = process_env(broker_url, extra_env)
    log_dir.mkdir(parents=True, exist_ok=True)
    procs: list[tuple[subprocess.Popen[bytes], Path]] = []
    try:
        for _ in range(count):
            name = f"w{uuid.uuid4().hex[:8]}"
            log = log_dir / f"worker-{name}.log"
            command = [
                sys.executable,
                "-m",
                "celery",
                "-A",
                app_module,
                "worker",
                "-l",
                os.environ.get("LOG_LEVEL", "INFO"),
                "-Q",
                ",".join(queues),
                "-P",
                pool,
                "-c",
                str(concurrency),
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"{name}@%h",
            ]
            with log.open("wb") as out:
                proc = subprocess.Popen(  # noqa: S603 - our own argv
                    command,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=settings.BASE_DIR,
                    start_new_session=True,  # its own process group, so a test can kill it whole
                )
            procs.append((proc, log))
        for proc, log in procs:

            def started(p: subprocess.Popen[bytes] = proc, lg: Path = log) -> bool:
                return b"ready." in lg.read_bytes() or p.poll() is not None

            wait_for(
                started,
                timeout=90,
                what="a worker to start",
            )
            if proc.poll() is not None:
                raise RuntimeError(f"worker exited at start:\n{log.read_text()}")
        yield [p for p, _ in procs]
    except BaseException:
        # A test or bench run that failed with workers up: what they logged is the evidence
        # (pytest shows it under the failure; the log files go with the test's directory).
        for proc, log in procs:
            print(_log_tail(log, proc), file=sys.stderr)
        raise
    finally:
        for proc, _ in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc, _ in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def _log_tail(log: Path, proc: subprocess.Popen[bytes], lines: int = 80) -> str:
    """The last ``lines`` lines a worker logged, headed by its log's name and whether it runs."""
    state = "running" if proc.poll() is None else f"exited with {proc.returncode}"
    try:
        tail = log.read_text(errors="replace").splitlines()[-lines:]
    except OSError as exc:
        tail = [f"(log unreadable: {exc})"]
    return "\n".join([f"--- {log.name} ({state}), last {len(tail)} lines ---", *tail])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own server
            return bool(response.status == 200)
    except OSError:
        return False


def _gunicorn_command(port: int, *, servers: int = 1, threads: int = 2, app: str = "hub.wsgi") -> list[str]:
    """gunicorn serving ``app`` (``hub.wsgi``) on 127.0.0.1 (gthread workers; ``threads=0``: sync workers)."""
    workers = (
        ["--worker-class", "gthread", "--threads", str(threads)] if threads else ["--worker-class", "sync"]
    )
    return [
        sys.executable,
        "-m",
        "gunicorn",
        app,
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(servers),
        *workers,
    ]


@contextmanager
def _server(
    command: list[str], log: Path, env: Mapping[str, str], *, ready: Callable[[], bool], what: str
) -> Iterator[subprocess.Popen[bytes]]:
    """A process of ours, logging to ``log``, yielded once ``ready``; stopped after."""
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own argv
            command,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=settings.BASE_DIR,
            start_new_session=True,
        )
    try:
        wait_for(lambda: ready() or proc.poll() is not None, timeout=60, what=what)
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited at start:\n{log.read_text()}")
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def web_process(
    port: int,
    log: Path,
    env: Mapping[str, str],
    *,
    servers: int = 1,
    threads: int = 2,
    extra: tuple[str, ...] = (),
    app: str = "hub.wsgi",
) -> Iterator[subprocess.Popen[bytes]]:
    """A gunicorn web process serving ``app`` with this environment, answering ``/healthz``;
    stopped after."""
    command = [*_gunicorn_command(port, servers=servers, threads=threads, app=app), *extra]
    healthz = f"http://127.0.0.1:{port}/healthz"
    with _server(command, log, env, ready=lambda: _answers(healthz), what="gunicorn") as server:
        yield server


@contextmanager
def beat_process(broker_url: str, log_dir: Path, extra_env: Mapping[str, str] | None = None) -> Iterator[int]:
    """One ``celery -A hub beat`` on the same database and broker as this process (its schedule
    file in ``log_dir``), as a deployment runs exactly one; stopped after. Yields its pid."""
    log = log_dir / "beat.log"
    command = [
        *(sys.executable, "-m", "celery", "-A", "hub", "beat", "-l", "INFO"),
        *("-s", str(log_dir / "celerybeat-schedule")),
    ]
    env = process_env(broker_url, extra_env)
    with _server(command, log, env, ready=lambda: b"beat: Starting" in log.read_bytes(), what="beat") as proc:
        yield proc.pid
