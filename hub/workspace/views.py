"""``GET /metrics`` for Prometheus."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry

from hub.workspace.metrics import HubCollector


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.HUB_METRICS_TOKEN
    if not token and not settings.DEBUG:
        # Queue depths, error rates and worker names are an attacker's map: never served open.
        return HttpResponse("Forbidden: set HUB_METRICS_TOKEN\n", status=403, content_type="text/plain")
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HubCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
