"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from hub.celery import app as celery_app
from hub.dbroles.checks import audit_log_rewriters
from hub.workers.liveness import heartbeats, workers_stale


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and answering."""
    return JsonResponse({"status": "ok"})


def _database_ok() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        return f"unavailable ({type(exc).__name__})"
    return "ok"


def _broker_ok() -> str:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        return f"unavailable ({type(exc).__name__})"
    return "ok"


def _stale_workers() -> list[dict[str, object]]:
    try:
        stale = workers_stale(heartbeats())
    except DatabaseError:  # already reported by the database check
        return []
    return [{"worker": w, "seconds_since_consumed": round(quiet)} for w, quiet in sorted(stale.items())]


def _audit_log_protection() -> str:
    """Whether the hub's own database role could rewrite the audit log. Reported, never a
    reason to refuse traffic: the hub works either way, and an orchestrator that restarted it
    would not change its role (the system check hub.dbroles.W001 says the same)."""
    if connection.vendor != "postgresql":
        return f"not enforced ({connection.vendor} has no database roles)"
    try:
        reasons = audit_log_rewriters(connection=connection)
    except Exception as exc:  # noqa: BLE001 - the database check above reports the outage
        return f"unknown ({type(exc).__name__})"
    return "rewritable by the hub's database role: " + "; ".join(reasons) if reasons else "append-only"


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready to take traffic: the database and the broker both answer. Stale workers are listed
    but do not make this process unready: taking the web out of service would not revive them
    (``worker_probe`` is what restarts them). Also says whether the audit log is append-only for
    the hub's database role (``audit_log``)."""
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    ready = all(v == "ok" for v in checks.values())
    body = {
        "status": "ok" if ready else "unavailable",
        "checks": checks,
        "stale_workers": _stale_workers(),
        "audit_log": _audit_log_protection(),
    }
    return JsonResponse(body, status=200 if ready else 503)
