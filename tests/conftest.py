"""Shared fixtures. In CI (HUB_REQUIRE_SERVICES=1) the run stops at once, with a non-zero
exit, if PostgreSQL, Redis or RabbitMQ cannot be reached: nothing is skipped silently."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from tests.fakes.server import FakeServer
from tests.fakes.twilio import start_fake_twilio
from tests.services import require_services

pytest_plugins = ["tests.logscan", "tests.factories", "tests.fakes.fixtures", "tests.figures"]


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.environ.get("HUB_REQUIRE_SERVICES") == "1":
        problems = require_services(settings.DATABASES["default"], settings.CELERY_BROKER_URL)
        if problems:
            pytest.exit("Required services are not reachable:\n  " + "\n  ".join(problems), returncode=3)


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def fake_twilio() -> Iterator[FakeServer]:
    server = start_fake_twilio()
    yield server
    server.stop()
