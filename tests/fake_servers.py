"""Fixtures for the fake providers (a pytest plugin), and per-test isolation of the state
routing keeps outside the database (health windows and config caches)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from bench.fakes import fcm, sendgrid, twilio
from bench.fakes.fcm import FcmServer, start_fake_fcm
from bench.fakes.sendgrid import start_fake_sendgrid
from bench.fakes.server import FakeServer
from bench.fakes.webpush import WebPushServer, start_fake_webpush, vapid_key_pair
from hub.providers.registry import registry_reset


@pytest.fixture(autouse=True)
def _isolated_routing_state(settings: Any) -> Iterator[None]:
    """Each test gets its own cache key prefix (health windows are in the cache, which is
    Redis in CI) and a fresh provider registry."""
    caches = {alias: dict(config) for alias, config in settings.CACHES.items()}
    for config in caches.values():
        config["KEY_PREFIX"] = f"test-{uuid.uuid4().hex[:12]}"
    settings.CACHES = caches
    registry_reset()
    yield
    registry_reset()


@pytest.fixture
def fake_sendgrid() -> Iterator[FakeServer]:
    server = start_fake_sendgrid()
    yield server
    server.stop()


@pytest.fixture
def fake_fcm() -> Iterator[FcmServer]:
    server = start_fake_fcm()
    yield server
    server.stop()


@pytest.fixture
def fake_webpush() -> Iterator[WebPushServer]:
    server = start_fake_webpush()
    yield server
    server.stop()


def twilio_entry(server: FakeServer, name: str = "twilio", **options: Any) -> dict[str, Any]:
    return {
        "NAME": name,
        "BACKEND": "hub.providers.twilio.TwilioSmsProvider",
        "OPTIONS": {
            "account_sid": twilio.ACCOUNT_SID,
            "auth_token": twilio.AUTH_TOKEN,
            "from_number": twilio.FROM_NUMBER,
            "api_base_url": server.base_url,
            "timeout": 5,
            **options,
        },
    }


def sendgrid_entry(server: FakeServer, name: str = "sendgrid", **options: Any) -> dict[str, Any]:
    return {
        "NAME": name,
        "BACKEND": "hub.providers.sendgrid.SendGridEmailProvider",
        "OPTIONS": {
            "api_key": sendgrid.API_KEY,
            "from_email": sendgrid.FROM_EMAIL,
            "api_host": server.base_url,
            "timeout": 5,
            **options,
        },
    }


def fcm_entry(server: FcmServer, credentials_file: str, name: str = "fcm") -> dict[str, Any]:
    return {
        "NAME": name,
        "BACKEND": "hub.providers.fcm.FcmPushProvider",
        "OPTIONS": {"credentials_file": credentials_file, "api_base_url": server.base_url, "timeout": 5},
    }


def webpush_entry(name: str = "webpush") -> dict[str, Any]:
    private, _public = vapid_key_pair()
    return {
        "NAME": name,
        "BACKEND": "hub.providers.webpush.WebPushProvider",
        "OPTIONS": {"vapid_private_key": private, "vapid_subject": "mailto:ops@example.com", "timeout": 5},
    }


__all__ = ["fcm", "fcm_entry", "sendgrid_entry", "twilio_entry", "webpush_entry"]
