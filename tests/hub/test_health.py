"""/healthz answers while the process lives; /readyz checks the database and the broker."""

from __future__ import annotations

import pytest

from hub.celery import app as celery_app


@pytest.mark.django_db
def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_ok_when_database_and_broker_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_readyz_unavailable_when_broker_is_down(client, monkeypatch):
    # A port nothing listens on: the check must fail fast and say which dependency is down.
    from tests.worker import publishing_to

    with publishing_to("redis://127.0.0.1:1/0"):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("unavailable")
    assert celery_app.conf.broker_url != "redis://127.0.0.1:1/0"
