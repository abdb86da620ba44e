"""Every /v2/ route (as the URL resolver lists them) refuses a request without a token with
Notify's 401 body, and a token of an unknown service with Notify's 403, changing nothing."""

from __future__ import annotations

import re
import time

import jwt
import pytest
from django.urls import get_resolver

from hub.messaging.models import Notification
from tests.hub.security.api import _walk  # the API's own route walk

SAMPLE = "11111111-1111-4111-8111-111111111111"


def notify_routes() -> list[tuple[str, str]]:
    """(path, method) for every Notify view."""
    routes = []
    for route, pattern in _walk(get_resolver().url_patterns):
        view = getattr(pattern.callback, "cls", None)
        if view is None or not view.__module__.startswith("hub.notify"):
            continue
        path = "/" + re.sub(r"<int:\w+>", "1", re.sub(r"<str:\w+>", SAMPLE, route))
        routes += [(path, m) for m in ("get", "post") if hasattr(view, m)]
    return routes


def test_the_routes_are_found() -> None:
    paths = {p for p, _ in notify_routes()}
    assert "/v2/notifications/sms" in paths and f"/service/{SAMPLE}/template/{SAMPLE}/versions" in paths
    assert len(notify_routes()) == 12


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "method"), notify_routes())
def test_no_token_is_notifys_401(api_client, path: str, method: str) -> None:
    response = getattr(api_client, method)(path, {}, format="json")
    assert response.status_code == 401, response.content
    assert response.json() == {
        "status_code": 401,
        "errors": [{"error": "AuthError", "message": "Unauthorized: authentication token must be provided"}],
    }
    assert not Notification.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "method"), notify_routes())
def test_unknown_service_is_notifys_403(api_client, path: str, method: str) -> None:
    token = jwt.encode({"iss": SAMPLE, "iat": int(time.time())}, "x" * 36, algorithm="HS256")
    response = getattr(api_client, method)(path, {}, format="json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 403, response.content
    assert response.json()["errors"] == [
        {"error": "AuthError", "message": "Invalid token: service not found"}
    ]
