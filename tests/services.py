"""Where the real services are, and a check that they answer (used by CI and worker tests)."""

from __future__ import annotations

import os
from typing import Any

from kombu import Connection

REDIS_BROKER_URL = os.environ.get("TEST_REDIS_BROKER_URL", "redis://127.0.0.1:6379/14")
RABBITMQ_BROKER_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")


def broker_reachable(url: str) -> str:
    """Empty string if the broker answers, else why not."""
    try:
        with Connection(url, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
    except Exception as exc:  # noqa: BLE001 - any failure is reported
        return f"{url.split('@')[-1]}: {type(exc).__name__}: {exc}"
    return ""


def require_services(database: dict[str, Any], broker_url: str, redis_url: str) -> list[str]:
    problems = []
    if database["ENGINE"] != "django.db.backends.postgresql":
        problems.append(f"DATABASE_URL must point at PostgreSQL in CI (got {database['ENGINE']})")
    else:
        import psycopg

        try:
            psycopg.connect(
                host=database["HOST"],
                port=database["PORT"] or 5432,
                user=database["USER"],
                password=database.get("PASSWORD") or None,
                dbname="postgres",
                connect_timeout=3,
            ).close()
        except Exception as exc:  # noqa: BLE001
            problems.append(f"PostgreSQL: {exc}")
    if not broker_url.startswith("redis://"):
        problems.append(f"CELERY_BROKER_URL must point at Redis in CI (got {broker_url.split('://')[0]})")
    if not redis_url.startswith("redis://"):
        problems.append("REDIS_URL must point at Redis in CI (the tests marked redis need it)")
    for url in {broker_url, redis_url, REDIS_BROKER_URL, RABBITMQ_BROKER_URL}:
        if url.startswith(("redis://", "amqp://")) and (problem := broker_reachable(url)):
            problems.append(problem)
    return problems
