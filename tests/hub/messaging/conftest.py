"""Fixtures for the messaging tests."""

from __future__ import annotations

import pytest

from tests.hub.messaging.recording import CALLS, ERRORS, RECORDING


@pytest.fixture(autouse=True)
def _reset():
    CALLS.clear()
    ERRORS.clear()


@pytest.fixture
def recording(settings):
    settings.HUB_PROVIDERS = RECORDING
