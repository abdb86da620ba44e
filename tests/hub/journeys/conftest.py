"""Journey definitions for tests: a small valid one, to vary per test."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from templates_app.models import Template
from tests.factories import make_live_template

BASE: dict[str, Any] = {
    "key": "welcome",
    "name": "Welcome",
    "trigger": {"event": "signed.up"},
    "steps": [{"id": "hello", "type": "send", "template": "order.shipped", "channels": ["sms"]}],
}


def definition(**changes: Any) -> dict[str, Any]:
    """BASE with top-level fields replaced."""
    result = copy.deepcopy(BASE)
    result.update(copy.deepcopy(changes))
    return result


@pytest.fixture
def shipped(db: None) -> Template:
    return make_live_template("order.shipped")
