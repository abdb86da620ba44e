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


def live_journey(value: dict[str, Any]) -> Any:
    """A journey whose version holding ``value`` is approved and live (through maker-checker)."""
    from django.contrib.auth.models import User

    from audit.services import Actor
    from hub.journeys.models import Journey
    from hub.journeys.services import (
        journey_create,
        journey_draft_create,
        journey_version_approve,
        journey_version_submit,
    )

    maker, _ = User.objects.get_or_create(username="journey-maker")
    checker, _ = User.objects.get_or_create(username="journey-checker")
    journey = Journey.objects.filter(key=value["key"]).first() or journey_create(
        key=value["key"], name=value["name"], actor=Actor.system()
    )
    version = journey_draft_create(journey=journey, author=maker, definition=value)
    journey_version_submit(version=version, actor=Actor.user(maker.pk))
    journey_version_approve(version=version, approver=checker)
    journey.refresh_from_db()
    return journey


def send_event(name: str, contact: str = "cust-1", **fields: Any) -> Any:
    """Record an event as the API would (no key); returns the outcome."""
    from hub.journeys.events import EventInput, event_record

    return event_record(item=EventInput(name=name, contact=contact, **fields), api_key=None)


def wake_now(run: Any) -> None:
    """Make a waiting run due and let beat's wake-up take it."""
    from datetime import timedelta

    from django.utils import timezone

    from hub.journeys.models import JourneyRun
    from hub.journeys.wake import journeys_wake_due

    JourneyRun.objects.filter(pk=run.pk).update(wake_at=timezone.now() - timedelta(seconds=1))
    journeys_wake_due()
    run.refresh_from_db()
