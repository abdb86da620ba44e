"""Errors are RFC 9457 problem+json everywhere, and a 500 never leaks a stack trace."""

from __future__ import annotations

import pytest
from rest_framework import exceptions
from rest_framework.test import APIRequestFactory

from hub.api.problems import flatten_errors, problem_exception_handler
from hub.messaging.models import Notification
from tests.db_faults import table_refusing
from tests.factories import ORDER_DATA


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


@pytest.mark.postgres  # a real PostgreSQL lock timeout (tests/db_faults.py)
@pytest.mark.django_db(transaction=True)
def test_a_database_that_does_not_answer_is_a_503_to_retry_and_stores_nothing(
    authed_client, live_template, contact
):
    """A real PostgreSQL refusal (tests/db_faults.py): 503 with Retry-After, not a 500, and
    nothing stored; the same request with the same Idempotency-Key then goes through once."""
    body = {
        "template": "order.shipped",
        "to": {"external_id": "cust-1"},
        "channels": ["sms"],
        "data": ORDER_DATA,
    }
    with table_refusing(Notification):
        refused = authed_client.post(
            "/api/v1/notifications", body, format="json", HTTP_IDEMPOTENCY_KEY="retry-me"
        )
    assert refused.status_code == 503, refused.content
    assert refused["Content-Type"] == "application/problem+json"
    assert refused["Retry-After"] == "5"
    assert refused.json()["code"] == "unavailable"
    assert not Notification.objects.exists()
    again = authed_client.post("/api/v1/notifications", body, format="json", HTTP_IDEMPOTENCY_KEY="retry-me")
    assert again.status_code == 202, again.content
    assert Notification.objects.count() == 1
