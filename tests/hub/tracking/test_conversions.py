"""Conversions: a goal event (``POST /api/v1/events``) within the template's attribution window
after a delivered message converts the latest such message, once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from hub.apikeys.services import apikey_create
from hub.messaging.models import DailyRollup, MessageEvent
from hub.tracking.models import Conversion
from tests.factories import key_client, make_live_template, make_message

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(contact: Any) -> Any:
    return key_client(apikey_create(name="shop", scopes=["events"]))


def post_event(client: Any, name: str = "order.completed", **body: Any) -> Any:
    response = client.post(
        "/api/v1/events", {"name": name, "contact": {"external_id": "cust-1"}, **body}, format="json"
    )
    assert response.status_code == 202, response.json()
    return response


def goal_template(key: str = "order.shipped", days: int = 7) -> Any:
    template = make_live_template(key)
    template.goal_event, template.attribution_days = "order.completed", days
    template.save()
    return template


def delivered(template: Any, contact: Any, ago: timedelta, channel: str = "sms") -> Any:
    message = make_message(template=template, contact=contact, channel=channel, outcome="delivered")
    MessageEvent.objects.filter(message=message, status="delivered").update(occurred_at=timezone.now() - ago)
    return message


def test_a_goal_event_converts_the_latest_delivered_message_once(shop, contact):
    template = goal_template()
    older = delivered(template, contact, timedelta(days=3))
    latest = delivered(template, contact, timedelta(hours=2), channel="email")
    post_event(shop, id="order-1")
    conversion = Conversion.objects.get()
    assert (conversion.message_id, conversion.template_id, conversion.journey_version_id) == (
        latest.id,
        template.id,
        None,
    )
    row = DailyRollup.objects.get(template=template, channel="email", day=timezone.now().date())
    assert row.converted == 1
    assert MessageEvent.objects.filter(message=latest, kind="engagement", status="converted").count() == 1
    # The same event again (replayed id) and a second order: the latest message converted already.
    post_event(shop, id="order-1")
    post_event(shop, id="order-2")
    assert Conversion.objects.count() == 1
    assert not Conversion.objects.filter(message=older).exists()
    assert DailyRollup.objects.get(pk=row.pk).converted == 1


def test_outside_the_attribution_window_or_another_event_nothing_converts(shop, contact):
    template = goal_template(days=2)
    delivered(template, contact, timedelta(days=3))
    post_event(shop)
    post_event(shop, name="cart.abandoned")
    assert not Conversion.objects.exists()
    assert sum(DailyRollup.objects.values_list("converted", flat=True)) == 0


def test_a_message_that_was_never_delivered_does_not_convert(shop, contact):
    template = goal_template()
    make_message(template=template, contact=contact, outcome="sent")
    post_event(shop)
    assert not Conversion.objects.exists()


def test_a_goal_event_in_a_batch_converts_as_a_single_one_does(shop, contact):
    """The events batch (``POST /api/v1/events/batch``) is applied set-based; its goal events
    convert too (they did not, when the batch path was written beside the conversions)."""
    template = goal_template()
    latest = delivered(template, contact, timedelta(hours=1))
    response = shop.post(
        "/api/v1/events/batch",
        {
            "events": [
                {"name": "page.viewed", "contact": {"external_id": "cust-1"}, "id": "view-1"},
                {"name": "order.completed", "contact": {"external_id": "cust-1"}, "id": "order-9"},
            ]
        },
        format="json",
    )
    assert response.status_code in (202, 207), response.json()
    (conversion,) = Conversion.objects.all()
    assert conversion.message_id == latest.id and conversion.event.event_id == "order-9"
