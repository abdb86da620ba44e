"""Notify keys, signed requests and Notify's published response schemas for the /v2/ tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from notifications_python_client.authentication import create_jwt_token

from hub.notify.keys import IssuedNotifyKey, notify_key_create

SCHEMAS = Path(__file__).parent / "schemas"
_formats = jsonschema.FormatChecker()


@_formats.checks("validate_uuid", raises=ValueError)
def _is_uuid(value: object) -> bool:
    import uuid

    if isinstance(value, str):
        uuid.UUID(value)
    return True


def notify_schema(name: str, *, client: bool = False) -> dict[str, Any]:
    path = SCHEMAS / "client" / f"{name}.json" if client else SCHEMAS / f"{name}.json"
    schema: dict[str, Any] = json.loads(path.read_text())
    return schema


def assert_matches_notify_schema(body: Any, name: str) -> None:
    """``body`` validates against Notify's API schema ``name`` and, where the Python client
    keeps its own copy for its integration tests, against that one too."""
    jsonschema.Draft7Validator(notify_schema(name), format_checker=_formats).validate(body)
    if (SCHEMAS / "client" / f"{name}.json").exists():
        jsonschema.Draft4Validator(notify_schema(name, client=True), format_checker=_formats).validate(body)


def secret_of(raw: str) -> str:
    return raw[-36:]


def service_of(raw: str) -> str:
    return raw[-73:-37]


def signed(raw: str) -> str:
    """A token as Notify's Python client makes it for this key (its own code)."""
    return f"Bearer {create_jwt_token(secret_of(raw), service_of(raw))}"


@pytest.fixture
def notify_key(db: None) -> IssuedNotifyKey:
    return notify_key_create(name="Cards service")


@pytest.fixture
def notify_key_factory(db: None) -> Callable[..., IssuedNotifyKey]:
    return notify_key_create


class NotifyTestClient:
    """DRF's test client signing every request afresh, as Notify's clients do."""

    def __init__(self, api_client: Any, raw: str) -> None:
        self.api_client = api_client
        self.raw = raw

    def get(self, path: str, **params: Any) -> Any:
        return self.api_client.get(path, params, HTTP_AUTHORIZATION=signed(self.raw))

    def post(self, path: str, body: Any) -> Any:
        return self.api_client.post(path, body, format="json", HTTP_AUTHORIZATION=signed(self.raw))


@pytest.fixture
def notify_client(api_client: Any, notify_key: IssuedNotifyKey) -> NotifyTestClient:
    return NotifyTestClient(api_client, notify_key.raw)
