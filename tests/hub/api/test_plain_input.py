"""Issue 16: a plainly valid notification body is read without a serializer
(``hub.api.plain_input``), into the very request the serializer would make; whatever is not
plainly valid goes to the serializer, so its errors stay DRF's own."""

from __future__ import annotations

from typing import Any

import pytest

from hub.api.plain_input import notification_input
from hub.api.serializers import NotificationCreateSerializer
from hub.messaging.intake import NotificationRequest
from tests.factories import ORDER_DATA

BASE: dict[str, Any] = {"template": "order.shipped", "to": {"phone": "+447911123456"}, "data": ORDER_DATA}

PLAIN: list[dict[str, Any]] = [
    BASE,
    {**BASE, "to": {"external_id": "cust-1"}, "channels": ["sms", "email"], "routing": "all"},
    {**BASE, "to": {"email": "Bob@Example.COM", "phone": "+447911123457"}, "reference": "r-1", "locale": ""},
    {**BASE, "to": {"push": "tok"}, "send_at": None, "locale": "en-GB", "channels": []},
    {**BASE, "data": {}},
    {"template": "order.shipped", "to": {"external_id": "x" * 128}},
]
JUDGED: list[Any] = [
    [],
    "body",
    {**BASE, "extra": 1},
    {**BASE, "template": " order.shipped"},  # DRF trims it: valid, but the serializer says so
    {**BASE, "template": ""},
    {**BASE, "template": "t" * 101},
    {**BASE, "template": 5},
    {**BASE, "to": {}},
    {**BASE, "to": {"phone": "+15555550100"}},  # not a valid number
    {**BASE, "to": {"phone": "+447911123456", "fax": "1"}},
    {**BASE, "to": {"external_id": "x" * 129}},
    {**BASE, "channels": ["sms", "sms"]},
    {**BASE, "channels": ["fax"]},
    {**BASE, "channels": "sms"},
    {**BASE, "routing": "any"},
    {**BASE, "send_at": "2030-01-01T00:00:00Z"},  # a time to parse
    {**BASE, "data": []},
    {**BASE, "reference": "a\x00b"},
    {**BASE, "reference": "\ud800"},
    {"to": {"phone": "+447911123456"}},
]


def by_serializer(body: Any) -> NotificationRequest | None:
    serializer = NotificationCreateSerializer(data=body)
    return NotificationRequest(**serializer.validated_data) if serializer.is_valid() else None


@pytest.mark.parametrize("body", PLAIN)
def test_a_plain_body_makes_the_request_the_serializer_makes(body):
    plain = notification_input(body)
    assert plain is not None
    assert plain == by_serializer(body)


@pytest.mark.parametrize("body", JUDGED)
def test_anything_else_is_left_to_the_serializer(body):
    assert notification_input(body) is None
