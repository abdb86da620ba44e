"""Running a real ``celery -A hub worker`` process against a real broker, for dispatch tests."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import kombu.pools
from django.conf import settings
from django.db import connection

from hub.celery import ALL_QUEUES
from hub.celery import app as celery_app
from hub.celeryconfig import transport_options


def database_url() -> str:
    """A URL for the database this test run is using (the test database, not the main one)."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def publishing_to(broker_url: str) -> Iterator[None]:
    """Make this process's Celery app publish to ``broker_url`` for real (not eagerly)."""
    conf = celery_app.conf
    saved = (conf.broker_url, conf.broker_transport_options, conf.task_always_eager)

    def reset_pools() -> None:
        # Drop the app's pools and kombu's global registry, so the next publish connects anew.
        celery_app._pool = None  # type: ignore[attr-defined]
        celery_app.amqp._producer_pool = None  # type: ignore[attr-defined]
        kombu.pools.reset()

    # Celery reads CELERY_BROKER_URL from the environment before its own configuration.
    saved_env = os.environ.get("CELERY_BROKER_URL")
    os.environ["CELERY_BROKER_URL"] = broker_url
    reset_pools()
    conf.update(
        broker_url=broker_url,
        broker_transport_options=transport_options(broker_url),
        task_always_eager=False,
    )
    try:
        yield
    finally:
        reset_pools()
        conf.update(broker_url=saved[0], broker_transport_options=saved[1], task_always_eager=saved[2])
        if saved_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = saved_env


def purge_queues(broker_url: str) -> None:
    with publishing_to(broker_url), celery_app.connection_for_write() as conn:
        channel: Any = conn.default_channel
        for queue in ALL_QUEUES:
            # A queue that does not exist yet is empty.
            with contextlib.suppress(Exception):
                channel.queue_purge(queue)


@contextmanager
def worker_process(
    broker_url: str, log_dir: Path, extra_env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a worker consuming every queue; stop it (warm shutdown) afterwards."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hub.settings",
        "DEBUG": "0",
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": ",".join(settings.ALLOWED_HOSTS),
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker_url,
        "HUB_VAR_DIR": str(settings.VAR_DIR),
        "HUB_SANDBOX_DELIVERY_DELAY": "0",
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    log = log_dir / f"worker-{uuid.uuid4().hex[:8]}.log"
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "hub",
        "worker",
        "-l",
        "INFO",
        "-Q",
        ",".join(ALL_QUEUES),
        "-P",
        "threads",
        "-c",
        "4",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-n",
        f"test-{uuid.uuid4().hex[:8]}@%h",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=settings.BASE_DIR)  # noqa: S603
        try:
            wait_for(
                lambda: b"ready." in log.read_bytes() or proc.poll() is not None,
                timeout=60,
                what="worker to start",
            )
            if proc.poll() is not None:
                raise RuntimeError(f"worker exited at start:\n{log.read_text()}")
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    proc.log_text = log.read_text()  # type: ignore[attr-defined]


def wait_for(condition: Callable[[], Any], *, timeout: float, what: str, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
