"""Celery configuration, derived from Django settings; loaded lazily by hub.celery."""

from __future__ import annotations

from typing import Any

from celery.schedules import crontab
from django.conf import settings
from kombu import Exchange, Queue

from hub.celery import ALL_QUEUES, QUEUE_CALLBACKS, QUEUE_EVENTS, QUEUE_MAINTENANCE


def transport_options(broker_url: str) -> dict[str, Any]:
    if broker_url.startswith("filesystem://"):
        # The embedded broker: messages are files under var/broker, so no server is needed.
        folder = settings.BROKER_FILESYSTEM_DIR
        folder.mkdir(parents=True, exist_ok=True)
        return {
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
            # Broadcast exchanges' bindings; kombu would otherwise write ./control in the cwd.
            "control_folder": str(folder / "control"),
            "store_processed": False,
            "polling_interval": 0.2,
        }
    if broker_url.startswith(("redis://", "rediss://")):
        return {"visibility_timeout": 3600}
    return {}


def heartbeat_schedule() -> dict[str, dict[str, Any]]:
    """Beat entries putting one heartbeat on each queue every ``HUB_WORKER_HEARTBEAT_SECONDS``
    (see ``hub.workers.liveness``). Each expires after one interval, so heartbeats do not pile
    up on a queue nobody consumes."""
    every = settings.HUB_WORKER_HEARTBEAT_SECONDS
    return {
        f"worker-heartbeat-{queue}": {
            "task": "hub.workers.tasks.worker_heartbeat",
            "schedule": every,
            "options": {"queue": queue, "expires": every},
        }
        for queue in ALL_QUEUES
    }


broker_url: str = settings.CELERY_BROKER_URL
broker_transport_options = transport_options(broker_url)
broker_connection_retry_on_startup = True
task_ignore_result = True
task_serializer = "json"
accept_content = ["json"]
timezone = "UTC"
enable_utc = True
# A task is acknowledged only after it finished, and one whose worker died goes to another
# worker; the conditional claim in the dispatch service makes that second run harmless.
task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = settings.HUB_WORKER_PREFETCH
# Celery's Django fix-up closes the database connection after every task unless told to reuse
# it: a new PostgreSQL backend (fork, authentication, cold catalog caches) per task. Reuse it
# for this many tasks; Django's CONN_MAX_AGE and health checks still apply.
CELERY_DB_REUSE_MAX = 1000
worker_hijack_root_logger = False
# Each queue has its own direct exchange and routing key, so a message lands in one queue only.
task_queues = [Queue(name, Exchange(name, type="direct"), routing_key=name) for name in ALL_QUEUES]
task_default_exchange = QUEUE_MAINTENANCE
task_default_routing_key = QUEUE_MAINTENANCE
task_default_queue = QUEUE_MAINTENANCE
task_routes = {
    "hub.messaging.tasks.record_sandbox_delivery": {"queue": QUEUE_EVENTS},
    "hub.messaging.tasks.apply_provider_reports": {"queue": QUEUE_EVENTS},
    "hub.messaging.tasks.send_messages": {"queue": QUEUE_MAINTENANCE},  # callers pick the lane
    "hub.messaging.tasks.drain_lane": {"queue": QUEUE_MAINTENANCE},  # callers pick the lane
    "hub.messaging.tasks.fall_back": {"queue": QUEUE_EVENTS},
    "hub.tracking.tasks.fetch_message_price": {"queue": QUEUE_EVENTS},
    "hub.callbacks.tasks.deliver_callbacks": {"queue": QUEUE_CALLBACKS},
    "hub.callbacks.tasks.deliver_due_callbacks": {"queue": QUEUE_CALLBACKS},
}
# (soft, hard) seconds per task. At the soft limit a task gets SoftTimeLimitExceeded and can
# still clean up; at the hard one its pool process is killed and replaced. A send stops before
# HUB_STUCK_AFTER_SECONDS (120 by default), so the sweeper never flags a hand-off still running;
# a batch it interrupts is left in ``sending`` and flagged for reconciliation by the sweeper, as
# when a worker dies. Only the prefork pool enforces them (see docs/operations.md).
TASK_TIME_LIMITS: dict[str, tuple[int, int]] = {
    "hub.messaging.tasks.send_messages": (90, 110),
    # A drain hands its lane on to a fresh task after HUB_DISPATCH_DRAIN_SECONDS (one batch more).
    "hub.messaging.tasks.drain_lane": (90, 110),
    "hub.messaging.tasks.record_sandbox_delivery": (60, 75),
    "hub.messaging.tasks.release_due_messages": (60, 75),
    "hub.messaging.tasks.sweep_stuck_messages": (60, 75),
    "hub.messaging.tasks.fold_accepted_counts": (60, 75),
    "hub.messaging.tasks.apply_provider_reports": (60, 75),
    "hub.messaging.tasks.fall_back": (60, 75),
    "hub.tracking.tasks.fetch_message_price": (60, 75),
    "hub.messaging.tasks.fall_back_overdue": (60, 75),
    "hub.broadcasts.tasks.release_broadcast": (240, 300),
    "hub.broadcasts.tasks.release_broadcasts": (240, 300),
    "hub.callbacks.tasks.deliver_callbacks": (120, 150),
    "hub.callbacks.tasks.deliver_due_callbacks": (60, 75),
    "hub.apikeys.tasks.purge_idempotency_records": (300, 360),
    "hub.workspace.tasks.purge_expired_personal_data": (1800, 2100),
    # Each sequencer batch commits on its own: a run stopped at its limit keeps what it did.
    "audit.tasks.sequence_audit_log": (120, 150),
    "hub.workers.tasks.worker_heartbeat": (10, 15),
    # Issue 17: one run of the journey wake-up stops taking new batches after 45 s.
    "hub.journeys.tasks.wake_due_runs": (60, 75),
}
task_annotations = {
    name: {"soft_time_limit": soft, "time_limit": hard} for name, (soft, hard) in TASK_TIME_LIMITS.items()
}
beat_schedule = {
    **heartbeat_schedule(),
    "release-due-messages": {"task": "hub.messaging.tasks.release_due_messages", "schedule": 5.0},
    "sweep-stuck-messages": {"task": "hub.messaging.tasks.sweep_stuck_messages", "schedule": 30.0},
    # Issue 16: the intake's "accepted" counts, added to the rollups off the accept's path.
    "fold-accepted-counts": {
        "task": "hub.messaging.tasks.fold_accepted_counts",
        "schedule": 10.0,
        "options": {"expires": 60},  # a backlog of ticks adds nothing: one fold takes them all
    },
    "sequence-audit-log": {
        "task": "audit.tasks.sequence_audit_log",
        "schedule": settings.HUB_AUDIT_SEQUENCER_SECONDS,
        "options": {"expires": 10 * settings.HUB_AUDIT_SEQUENCER_SECONDS},  # a backlog of runs adds nothing
    },
    "purge-expired-personal-data": {
        "task": "hub.workspace.tasks.purge_expired_personal_data",
        "schedule": crontab(hour=3, minute=17),
    },
    # Issue 7: routing fallback on timeout, broadcast fan-out, status callbacks, idempotency.
    "fall-back-overdue": {"task": "hub.messaging.tasks.fall_back_overdue", "schedule": 15.0},
    "release-broadcasts": {"task": "hub.broadcasts.tasks.release_broadcasts", "schedule": 5.0},
    "deliver-due-callbacks": {"task": "hub.callbacks.tasks.deliver_due_callbacks", "schedule": 10.0},
    "purge-idempotency-records": {
        "task": "hub.apikeys.tasks.purge_idempotency_records",
        "schedule": 3600.0,
    },
    # Issue 17: waiting journey runs whose time has come (a backlog of ticks adds nothing).
    "wake-journey-runs": {
        "task": "hub.journeys.tasks.wake_due_runs",
        "schedule": 5.0,
        "options": {"expires": 50},
    },
}
beat_schedule_filename = str(settings.VAR_DIR / "celerybeat-schedule")
# Tasks outside the apps' tasks modules: the worker heartbeat. (The benchmark's own tasks are
# loaded only by the workers it starts: ``celery -A bench.worker``.)
imports = ("hub.workers.tasks",)
task_always_eager = getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False)
