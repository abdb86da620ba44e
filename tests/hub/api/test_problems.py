"""Errors are RFC 9457 problem+json everywhere, and a 500 never leaks a stack trace."""

from __future__ import annotations

import pytest
from rest_framework import exceptions
from rest_framework.test import APIRequestFactory

from hub.api.problems import flatten_errors, problem_exception_handler


@pytest.mark.django_db
def test_unexpected_error_is_a_500_problem_without_stack_trace(authed_client, monkeypatch, caplog):
    def explode(**kwargs):
        raise RuntimeError("database said something secret")

    monkeypatch.setattr("hub.api.views.notification_get", explode)
    response = authed_client.get("/api/v1/notifications/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "internal_error"
    text = response.content.decode()
    assert "Traceback" not in text and "secret" not in text and "RuntimeError" not in text
    # ...but the operator gets the details in the log.
    assert "database said something secret" in caplog.text


def test_throttled_is_429_with_retry_after():
    request = APIRequestFactory().get("/api/v1/notifications")
    response = problem_exception_handler(exceptions.Throttled(wait=12), {"request": request})
    assert response.status_code == 429
    assert response["Retry-After"] == "12"
    assert response.data["code"] == "rate_limited"


def test_forbidden_is_403_problem():
    request = APIRequestFactory().get("/api/v1/notifications")
    response = problem_exception_handler(exceptions.PermissionDenied("Read-only key."), {"request": request})
    assert (response.status_code, response.data["code"], response.data["detail"]) == (
        403,
        "forbidden",
        "Read-only key.",
    )


def test_nested_validation_errors_are_flattened_with_field_paths():
    errors = flatten_errors(
        {
            "to": {"phone": [exceptions.ErrorDetail("Bad number.", code="invalid")]},
            "channels": {0: [exceptions.ErrorDetail("Not a choice.", code="invalid_choice")]},
        }
    )
    assert {"field": "to.phone", "message": "Bad number.", "code": "invalid"} in errors
    assert {"field": "channels.0", "message": "Not a choice.", "code": "invalid_choice"} in errors
