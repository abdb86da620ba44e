"""P4: transactional accept → provider hand-off while a marketing broadcast drains.

A probe thread posts single transactional notifications through the real API
(``POST /api/v1/notifications``) at a steady rate while the broadcast of P2 drains; each
latency runs from the moment the API answered 202 to the message's ``sent`` event (written in
the transaction that records the provider's answer, after the provider call returned).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from django.db import connection
from rest_framework.test import APIClient

from bench.background import Background
from bench.fixtures import BENCH_DATA, BENCH_TEMPLATE
from hub.messaging.models import MessageEvent
from hub.messaging.models import MessageStatus as S

PROBE_PHONE = "+447400123456"


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` 0.99 for p99) of ``values``; 0 if empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


@dataclass(frozen=True)
class LatencyFigure:
    probes: int
    handed_off: int
    p50_ms: float
    p99_ms: float
    max_ms: float


class AcceptProbe(Background):
    """Posts one transactional notification every ``1 / rate`` seconds until stopped and
    remembers when each was accepted (wall clock, comparable with the workers' timestamps)."""

    def __init__(self, *, api_key: str, rate: float) -> None:
        super().__init__("accept-probe")
        self.api_key = api_key
        self.interval = 1.0 / rate
        self.accepted: dict[UUID, datetime] = {}
        self.refused = 0

    def _post(self, client: APIClient) -> None:
        body: dict[str, Any] = {"template": BENCH_TEMPLATE, "to": {"phone": PROBE_PHONE}, "data": BENCH_DATA}
        response = client.post(
            "/api/v1/notifications", body, format="json", HTTP_AUTHORIZATION=f"Bearer {self.api_key}"
        )
        at = datetime.now(UTC)
        if response.status_code != 202:
            self.refused += 1
            return
        for message in response.json()["messages"]:
            self.accepted[UUID(message["id"])] = at

    def run(self) -> None:
        client = APIClient()
        try:
            next_at = time.monotonic()
            while not self.stopping.is_set():
                self._post(client)
                next_at += self.interval
                self.stopping.wait(max(0.0, next_at - time.monotonic()))
        finally:
            connection.close()  # this thread's own connection

    def pending(self) -> bool:
        """Whether some probe message has no ``sent`` event yet."""
        return bool(self.accepted) and len(self._sent_at()) < len(self.accepted)

    def _sent_at(self) -> dict[UUID, datetime]:
        rows = MessageEvent.objects.filter(message_id__in=list(self.accepted), status=S.SENT).values_list(
            "message_id", "occurred_at"
        )
        sent: dict[UUID, datetime] = {}
        for message_id, occurred_at in rows:
            sent[message_id] = min(occurred_at, sent.get(message_id, occurred_at))
        return sent

    def figure(self) -> LatencyFigure:
        sent = self._sent_at()
        millis = [(sent[m] - at).total_seconds() * 1000 for m, at in self.accepted.items() if m in sent]
        return LatencyFigure(
            probes=len(self.accepted),
            handed_off=len(millis),
            p50_ms=percentile(millis, 0.50),
            p99_ms=percentile(millis, 0.99),
            max_ms=max(millis, default=0.0),
        )
