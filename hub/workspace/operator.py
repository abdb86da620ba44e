"""What the operator dashboard shows (``hub.workspace.admin.operator``): broker queue depths and
queued messages per lane, provider outcomes, error rates and hand-off latency over a chosen
window, stale workers, failing callback endpoints, and which channels send to the sandbox.

Every figure is an indexed read: the status index for recent outcomes, the queued-lane index
for lanes, a passive declare per broker queue, the workers' heartbeat rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Count
from django.http import HttpRequest
from django.utils import timezone

from hub.callbacks.models import CallbackDelivery, CallbackEndpoint, DeliveryStatus
from hub.messaging.models import Message
from hub.providers.registry import channel_entries
from hub.workers.liveness import Heartbeat, heartbeats, workers_quiet_for, workers_stale
from hub.workspace.metrics import provider_latency, provider_outcomes, queue_depths

# The windows an operator may choose, label -> length.
WINDOWS: dict[str, timedelta] = {
    "5m": timedelta(minutes=5),
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}
CHANNELS = ("sms", "email", "push")
SANDBOX_BACKEND = "hub.providers.sandbox.SandboxProvider"


@dataclass(frozen=True)
class ProviderHealth:
    provider: str
    outcomes: dict[str, int]
    p50: float | None = None
    p95: float | None = None

    @property
    def finished(self) -> int:
        return sum(self.outcomes.values())

    @property
    def failed(self) -> int:
        return self.outcomes.get("failed", 0) + self.outcomes.get("undelivered", 0)

    @property
    def error_rate(self) -> float | None:
        return round(100.0 * self.failed / self.finished, 1) if self.finished else None


@dataclass(frozen=True)
class WorkerState:
    worker: str
    quiet_for: float
    stale: bool
    queues: list[Heartbeat] = field(default_factory=list)


@dataclass(frozen=True)
class FailingEndpoint:
    endpoint_id: int
    api_key: str
    url: str
    consecutive_failures: int
    pending: int
    abandoned: int
    last_error: str


@dataclass(frozen=True)
class Dashboard:
    window: str
    broker_up: bool
    queue_depths: dict[str, int | None]
    lanes: list[tuple[str, str, int]]
    providers: list[ProviderHealth]
    workers: list[WorkerState]
    failing_callbacks: list[FailingEndpoint]
    sandbox_channels: list[str]


def sandbox_channels() -> list[str]:
    """Channels whose first provider is the sandbox: their messages reach nobody."""
    return [
        c for c in CHANNELS if (entries := channel_entries(c)) and entries[0]["BACKEND"] == SANDBOX_BACKEND
    ]


def sandbox_context(request: HttpRequest) -> dict[str, list[str]]:
    """Template context processor: ``sandbox_channels`` for the banner every admin page shows to
    staff while any channel sends to the sandbox (``hub/shell/admin/base_site.html``). Read from
    the providers' configuration, cached per process (no query on most pages)."""
    user = getattr(request, "user", None)
    if not request.path.startswith("/admin/") or not getattr(user, "is_staff", False):
        return {}
    return {"sandbox_channels": sandbox_channels()}


def queued_lanes() -> list[tuple[str, str, int]]:
    """Queued messages per lane (channel, category), from the queued-lane index."""
    rows = (
        Message.objects.filter(status="queued")
        .values_list("channel", "category")
        .annotate(n=Count("id"))
        .order_by("channel", "category")
    )
    return [(channel, category, n) for channel, category, n in rows]


def provider_health(window: timedelta) -> list[ProviderHealth]:
    """Per provider over the window: how many messages ended or were sent, by status, the error
    rate (failed and undelivered over those) and hand-off latency (median and 95th percentile)."""
    since = timezone.now() - window
    outcomes = provider_outcomes(since)
    latency: dict[str, tuple[float | None, float | None]] = dict(provider_latency(since))
    names = sorted(set(outcomes) | set(latency))
    health = []
    for name in names:
        p50, p95 = latency.get(name, (None, None))
        health.append(ProviderHealth(name, outcomes.get(name, {}), p50, p95))
    return health


def worker_states() -> list[WorkerState]:
    beats = heartbeats()
    stale = workers_stale(beats)
    by_worker: dict[str, list[Heartbeat]] = defaultdict(list)
    for beat in beats:
        by_worker[beat.worker].append(beat)
    return [
        WorkerState(worker, quiet, worker in stale, by_worker[worker])
        for worker, quiet in sorted(workers_quiet_for(beats).items(), key=lambda item: (-item[1], item[0]))
    ]


def failing_callbacks() -> list[FailingEndpoint]:
    """Endpoints whose last deliveries failed, or with abandoned deliveries, worst first."""
    endpoints = (
        CallbackEndpoint.objects.filter(consecutive_failures__gt=0)
        .select_related("api_key")
        .order_by("-consecutive_failures")[:50]
    )
    found = []
    for endpoint in endpoints:
        counts = dict(
            CallbackDelivery.objects.filter(
                endpoint=endpoint, status__in=[DeliveryStatus.PENDING, DeliveryStatus.ABANDONED]
            )
            .values_list("status")
            .annotate(n=Count("id"))
            .order_by()
        )
        last = (
            CallbackDelivery.objects.filter(endpoint=endpoint)
            .exclude(last_error="")
            .order_by("-created_at")
            .first()
        )
        found.append(
            FailingEndpoint(
                endpoint.pk,
                str(endpoint.api_key),
                endpoint.url,
                endpoint.consecutive_failures,
                counts.get(DeliveryStatus.PENDING, 0),
                counts.get(DeliveryStatus.ABANDONED, 0),
                last.last_error if last else "",
            )
        )
    return found


def dashboard_build(*, window: str = "1h") -> Dashboard:
    depths = queue_depths()
    return Dashboard(
        window=window,
        broker_up=bool(depths),
        queue_depths=depths,
        lanes=queued_lanes(),
        providers=provider_health(WINDOWS[window]),
        workers=worker_states(),
        failing_callbacks=failing_callbacks(),
        sandbox_channels=sandbox_channels(),
    )
