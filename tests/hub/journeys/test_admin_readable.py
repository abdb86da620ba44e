"""A journey run and an event read in admin as labelled rows: the run's state, what it waits
for and its timeline entries' details, the event's data and what it did; no raw JSON."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from hub.journeys.models import Event, JourneyRun
from tests.factories import make_staff_user
from tests.hub.journeys.conftest import definition, live_journey, send_event
from tests.pages import raw_structures, visible_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def waiting(shipped: Any, contact: Any) -> JourneyRun:
    steps = [
        {"id": "pause", "type": "wait", "duration": "2d"},
        {"id": "hello", "type": "send", "template": "order.shipped", "channels": ["sms"]},
    ]
    live_journey(definition(steps=steps))
    send_event("signed.up", data={"plan": "gold"})
    run: JourneyRun = JourneyRun.objects.get()
    return run


def test_a_run_and_its_event_read_in_words(client: Any, waiting: JourneyRun) -> None:
    client.force_login(make_staff_user("Support"))
    page = client.get(reverse("admin:journeys_journeyrun_change", args=[waiting.pk])).content.decode()
    assert raw_structures(page) == [], visible_text(page)
    event = Event.objects.get()
    client.force_login(make_staff_user("Compliance"))  # events are compliance's to read
    page = client.get(reverse("admin:journeys_event_change", args=[event.pk])).content.decode()
    assert raw_structures(page) == [], visible_text(page)
    assert "Plan gold" in visible_text(page)
