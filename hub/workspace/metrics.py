"""Prometheus metrics, computed from the database (and the broker) at scrape time.

Counting in each worker process would need prometheus_client's multiprocess mode and a
shared directory on every host; instead every scrape runs a few cheap, indexed queries:
rollup sums for the counters, the status index for in-flight messages and for the last five
minutes of outcomes per provider, and a passive queue declare per queue for queue depth.
"""

from __future__ import annotations

import logging
import statistics
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.db.models import Count, Sum
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from hub.messaging.lifecycle import FINAL_STATUSES
from hub.messaging.models import DailyRollup, DecisionRollup, Message, MessageEvent
from hub.workers.liveness import heartbeats, workers_quiet_for, workers_stale

logger = logging.getLogger("hub.metrics")

IN_FLIGHT = ("accepted", "queued", "deferred", "sending")
WINDOW = timedelta(minutes=5)
LATENCY_SAMPLE = 1000
ROLLUP_COUNTERS = ("sent", "delivered", "failed", "bounced", "blocked", "opened", "clicked",
                   "unsubscribed", "complained")  # fmt: skip


def queue_depths() -> dict[str, int | None]:
    """Tasks waiting in each broker queue (empty when the broker does not answer)."""
    from hub.celery import ALL_QUEUES, app

    depths: dict[str, int | None] = {}
    try:
        with app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            for name in ALL_QUEUES:
                # A channel per queue: on AMQP a failed passive declare closes its channel.
                channel: Any = conn.channel()
                try:
                    depths[name] = int(channel.queue_declare(queue=name, passive=True).message_count)
                except Exception:  # noqa: BLE001 - a queue nobody declared yet holds nothing
                    depths[name] = 0
                finally:
                    channel.close()
    except Exception as exc:  # noqa: BLE001 - the broker being down is itself a metric
        logger.warning("metrics: broker unreachable: %s", type(exc).__name__)
        return {}
    return depths


def provider_outcomes(since: datetime) -> dict[str, dict[str, int]]:
    """Per provider: messages that ended or were sent since ``since``, by status (the status index)."""
    per_provider: dict[str, dict[str, int]] = defaultdict(dict)
    rows = (
        Message.objects.filter(status__in=[*FINAL_STATUSES, "sent"], status_changed_at__gte=since)
        .exclude(provider="")
        .values_list("provider", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for provider, status, n in rows:
        per_provider[provider][status] = n
    return per_provider


def provider_latency(since: datetime) -> dict[str, tuple[float, float]]:
    """Per provider: median and 95th percentile seconds from claim (sending) to the provider's
    acceptance (sent), over a sample of the latest sends since ``since``."""
    recent = dict(
        Message.objects.filter(status__in=["sent", "delivered"], status_changed_at__gte=since)
        .exclude(provider="")
        .order_by("-status_changed_at")
        .values_list("id", "provider")[:LATENCY_SAMPLE]
    )
    marks: dict[UUID, dict[str, float]] = defaultdict(dict)
    for message_id, status, at in MessageEvent.objects.filter(
        message_id__in=list(recent), status__in=["sending", "sent"], kind="status"
    ).values_list("message_id", "status", "occurred_at"):
        marks[message_id][status] = at.timestamp()
    samples: dict[str, list[float]] = defaultdict(list)
    for message_id, times in marks.items():
        if "sending" in times and "sent" in times:
            samples[recent[message_id]].append(max(times["sent"] - times["sending"], 0.0))
    result = {}
    for provider, values in samples.items():
        values.sort()
        result[provider] = (statistics.median(values), values[min(len(values) - 1, int(len(values) * 0.95))])
    return result


class HubCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        yield from self._messages()
        yield from self._providers()
        yield from self._decisions()
        yield from self._queues()
        yield from self._workers()

    def _messages(self) -> Iterator[Metric]:
        in_flight = GaugeMetricFamily(
            "switchboard_messages_in_flight", "Messages not yet final, by status, channel and provider.",
            labels=["status", "channel", "provider"],
        )  # fmt: skip
        rows = (
            Message.objects.filter(status__in=IN_FLIGHT)
            .values_list("status", "channel", "provider")
            .annotate(n=Count("id"))
            .order_by()
        )
        for status, channel, provider, n in rows:
            in_flight.add_metric([status, channel, provider or ""], n)
        yield in_flight
        totals = CounterMetricFamily(
            "switchboard_messages", "Messages that reached a status (from the rollups), by channel.",
            labels=["status", "channel"],
        )  # fmt: skip
        sums = (
            DailyRollup.objects.values("channel").annotate(**{n: Sum(n) for n in ROLLUP_COUNTERS}).order_by()
        )
        row: Any
        for row in sums:
            for name in ROLLUP_COUNTERS:
                totals.add_metric([name, row["channel"]], row[name] or 0)
        yield totals

    def _providers(self) -> Iterator[Metric]:
        since = timezone.now() - WINDOW
        outcomes = GaugeMetricFamily(
            "switchboard_provider_outcomes_5m", "Messages finished or sent in the last 5 minutes, by provider.",
            labels=["provider", "status"],
        )  # fmt: skip
        errors = GaugeMetricFamily(
            "switchboard_provider_error_ratio_5m", "Failed over finished-or-sent in the last 5 minutes.",
            labels=["provider"],
        )  # fmt: skip
        per_provider = provider_outcomes(since)
        for provider, counts in per_provider.items():
            for status, n in counts.items():
                outcomes.add_metric([provider, status], n)
        for provider, counts in per_provider.items():
            failed = counts.get("failed", 0) + counts.get("undelivered", 0)
            errors.add_metric([provider], failed / max(sum(counts.values()), 1))
        yield outcomes
        yield errors
        yield self._latency(since)

    def _latency(self, since: datetime) -> Metric:
        """Seconds from claim (sending) to the provider's acceptance (sent), last 5 minutes."""
        latency = GaugeMetricFamily(
            "switchboard_provider_latency_seconds", "Hand-off latency over a sample of recent sends.",
            labels=["provider", "quantile"],
        )  # fmt: skip
        for provider, (p50, p95) in provider_latency(since).items():
            latency.add_metric([provider, "0.5"], p50)
            latency.add_metric([provider, "0.95"], p95)
        return latency

    def _decisions(self) -> Iterator[Metric]:
        decisions = CounterMetricFamily(
            "switchboard_decisions", "Compliance decisions that blocked or deferred a message, by reason.",
            labels=["outcome", "reason"],
        )  # fmt: skip
        for outcome, reason, n in (
            DecisionRollup.objects.values_list("outcome", "reason").annotate(n=Sum("count")).order_by()
        ):
            decisions.add_metric([outcome, reason], n or 0)
        yield decisions

    def _queues(self) -> Iterator[Metric]:
        depths = queue_depths()
        up = GaugeMetricFamily("switchboard_broker_up", "1 if the broker answered this scrape.")
        up.add_metric([], 1 if depths else 0)
        yield up
        depth = GaugeMetricFamily("switchboard_queue_depth", "Tasks waiting in each queue.", labels=["queue"])
        for name, count in sorted(depths.items()):
            depth.add_metric([name], count or 0)
        yield depth

    def _workers(self) -> Iterator[Metric]:
        beats = heartbeats()
        since = GaugeMetricFamily(
            "switchboard_worker_seconds_since_consumed",
            "Seconds since each worker last started a task from each queue (beat puts a heartbeat on every queue).",
            labels=["worker", "queue"],
        )  # fmt: skip
        for beat in beats:
            since.add_metric([beat.worker, beat.queue], beat.seconds_since_consumed)
        yield since
        stale = GaugeMetricFamily(
            "switchboard_worker_stale",
            "1 if the worker started no task from any of its queues within HUB_WORKER_LIVENESS_SECONDS.",
            labels=["worker"],
        )  # fmt: skip
        too_quiet = workers_stale(beats)
        for worker in sorted(workers_quiet_for(beats)):
            stale.add_metric([worker], 1 if worker in too_quiet else 0)
        yield stale
