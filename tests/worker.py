"""Running a real ``celery -A hub worker`` process against a real broker, for dispatch tests."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO
from pathlib import Path
from typing import Any

import kombu.pools
from django.core.management import CommandError, call_command

from bench.workers import current_database_url as database_url
from bench.workers import wait_for, worker_processes
from hub.celery import ALL_QUEUES
from hub.celery import app as celery_app
from hub.celeryconfig import transport_options
from hub.messaging.wakes import wake_flags_clear_all
from tests.services import REDIS_BROKER_URL

# The markers of the test running now (set by tests/conftest.py). A test that publishes to or
# purges the real broker must carry one of SERVER_MARKERS: .ci/run runs those tests apart from
# the others, whose Redis and broker they would otherwise share.
current_markers: set[str] = set()
SERVER_MARKERS = frozenset({"worker", "broker", "browser"})


def _real_broker_requires_marker(broker_url: str) -> None:
    real = {REDIS_BROKER_URL, os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")}
    if broker_url in real and not current_markers & SERVER_MARKERS:
        raise AssertionError(
            "This test uses the real broker: mark it @pytest.mark.broker (or worker), so that "
            ".ci/run runs it apart from the tests that share the rest's Redis."
        )


@contextmanager
def publishing_to(broker_url: str) -> Iterator[None]:
    """Make this process's Celery app publish to ``broker_url`` for real (not eagerly)."""
    _real_broker_requires_marker(broker_url)
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
    wake_flags_clear_all()  # the drains the lanes' wake flags stood for are gone


def heartbeats_publish(*, expires: float | None = None) -> None:
    """Do what beat does each heartbeat interval: one heartbeat task on every queue."""
    for name, entry in celery_app.conf.beat_schedule.items():
        if name.startswith("worker-heartbeat-"):
            options = {**entry["options"], **({"expires": expires} if expires else {})}
            celery_app.send_task(entry["task"], **options)


def probe_failure() -> str:
    """Why ``manage.py worker_probe`` fails now, or "" if it passes."""
    try:
        call_command("worker_probe", stdout=StringIO())
    except CommandError as exc:
        return str(exc)
    return ""


@contextmanager
def worker_process(
    broker_url: str, log_dir: Path, extra_env: dict[str, str] | None = None, *, pool: str = "threads"
) -> Iterator[subprocess.Popen[bytes]]:
    """One worker consuming every queue, with sandbox deliveries reported at once."""
    env = {"HUB_SANDBOX_DELIVERY_DELAY": "0", **(extra_env or {})}
    concurrency = 2 if pool == "prefork" else 4
    with worker_processes(broker_url, log_dir, extra_env=env, pool=pool, concurrency=concurrency) as procs:
        yield procs[0]


__all__ = [
    "database_url",
    "heartbeats_publish",
    "probe_failure",
    "publishing_to",
    "purge_queues",
    "wait_for",
    "worker_process",
]
