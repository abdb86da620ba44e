"""The API answers a notification through one shared serializer per class
(``FieldsBuiltOnce.represent``): the same body as a serializer made for each answer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework import serializers

from hub.api.serializers import (
    BuiltOnceModelSerializer,
    MessageSerializer,
    NotificationSerializer,
    _representer,
)
from hub.messaging.models import Message, MessageEvent, MessageStatus, Notification, Routing
from hub.messaging.selectors import notification_get
from tests.factories import ORDER_DATA

URL = "/api/v1/notifications"

SHAPES: list[dict[str, Any]] = [
    {"to": {"external_id": "cust-1"}, "channels": ["sms", "email"], "routing": "all"},
    {"to": {"phone": "+447911123456"}, "channels": ["sms"], "reference": "order-A-1"},
    {"to": {"email": "bob@example.com"}, "channels": ["sms", "email"]},  # sms blocked, no address
    {"to": {"external_id": "cust-1"}, "send_at": (timezone.now() + timedelta(hours=2)).isoformat()},
]


@pytest.mark.django_db
@pytest.mark.parametrize("shape", SHAPES)
def test_the_shared_serializer_answers_as_a_new_one(authed_client, issued_key, live_template, contact, shape):
    response = authed_client.post(
        URL, {"template": "order.shipped", "data": ORDER_DATA, **shape}, format="json"
    )
    assert response.status_code == 202
    read = notification_get(notification_id=response.json()["id"], api_key=issued_key.api_key)
    assert read is not None
    assert NotificationSerializer.represent(read) == dict(NotificationSerializer(read).data)
    assert response.json() == NotificationSerializer.represent(read)


@pytest.mark.django_db
def test_an_error_quoting_the_address_is_withheld_the_same(authed_client, issued_key, live_template):
    response = authed_client.post(
        URL,
        {"template": "order.shipped", "data": ORDER_DATA, "to": {"phone": "+447911123456"}},
        format="json",
    )
    message = Message.objects.get(notification_id=response.json()["id"])
    Message.objects.filter(pk=message.pk).update(error_message="The number 447911123456 is unreachable")
    MessageEvent.objects.create(
        message=message,
        kind="provider",
        status="failed",
        detail={"reason": "To +447911123456 refused"},
        occurred_at=timezone.now() + timedelta(minutes=1),
    )
    read = notification_get(notification_id=message.notification_id, api_key=issued_key.api_key)
    assert read is not None
    shared = NotificationSerializer.represent(read)
    assert shared == dict(NotificationSerializer(read).data)
    (shown,) = shared["messages"]
    assert shown["error_message"] == "The number [address] is unreachable"
    assert shown["events"][-1]["detail"] == {"reason": "To [address] refused"}
    assert MessageSerializer.represent(read.messages.all()[0]) == shown


@pytest.mark.django_db
def test_answers_show_times_in_the_current_zone_as_drf_does(authed_client, issued_key, live_template):
    """The compiled writer formats aware datetimes itself: in the zone current while it writes
    (``Z`` for UTC, an offset elsewhere), as DRF's DateTimeField does."""
    from zoneinfo import ZoneInfo

    response = authed_client.post(
        URL,
        {"template": "order.shipped", "data": ORDER_DATA, "to": {"phone": "+447911123456"}},
        format="json",
    )
    assert response.json()["created_at"].endswith("Z")
    read = notification_get(notification_id=response.json()["id"], api_key=issued_key.api_key)
    assert read is not None
    for zone in ("Asia/Tokyo", "America/New_York", "UTC"):
        with timezone.override(ZoneInfo(zone)):
            assert NotificationSerializer.represent(read) == dict(NotificationSerializer(read).data)
    with timezone.override(ZoneInfo("Asia/Tokyo")):
        assert NotificationSerializer.represent(read)["created_at"].endswith("+09:00")


@pytest.mark.django_db
def test_an_address_deep_in_a_detail_is_withheld_whatever_its_case(authed_client, issued_key, live_template):
    """An event's detail is walked only when its JSON text holds the address; wherever it is
    (nested, in another case, without its +), it is still replaced, as before."""
    response = authed_client.post(
        URL,
        {
            "template": "order.shipped",
            "data": ORDER_DATA,
            "to": {"email": "Ada@Example.com"},
            "channels": ["email"],
        },
        format="json",
    )
    message = Message.objects.get(notification_id=response.json()["id"])
    details = [
        {"bounce": [{"reason": "550 ada@example.COM: no such mailbox"}], "code": 550},
        {"note": "nothing to hide", "n": [1, 2, {"deep": None}]},
    ]
    for at, detail in enumerate(details, 1):
        MessageEvent.objects.create(
            message=message,
            kind="provider",
            status="bounced",
            detail=detail,
            occurred_at=timezone.now() + timedelta(minutes=at),
        )
    read = notification_get(notification_id=message.notification_id, api_key=issued_key.api_key)
    assert read is not None
    shown = NotificationSerializer.represent(read)
    assert shown == dict(NotificationSerializer(read).data)
    events = shown["messages"][0]["events"]
    assert events[-2]["detail"] == {"bounce": [{"reason": "550 [address]: no such mailbox"}], "code": 550}
    assert events[-1]["detail"] == details[1]


def test_a_detail_is_walked_when_its_text_might_hide_the_address():
    from hub.messaging.selectors import _may_hold, _withheld

    assert not _may_hold({"a": ["b", {"c": 1}]}, "+447911123456")
    assert _may_hold({"a": ["x 447911123456 y"]}, "+447911123456")
    assert _may_hold({"a": "ADA@EXAMPLE.COM"}, "ada@example.com")
    # An address JSON would escape is always walked.
    assert _may_hold({"a": "b"}, '"ada"@example.com')
    assert _withheld({"a": ['to "ada"@example.com']}, '"ada"@example.com') == {"a": ["to [address]"]}


class _ThroughRelations(BuiltOnceModelSerializer[Notification]):
    contact = serializers.CharField(source="contact.external_id", default="nobody")
    api_key = serializers.CharField(source="api_key.name", allow_null=True)
    approval = serializers.CharField(source="template_approval.note", default=lambda: "made")
    template = serializers.CharField(source="template.key", default="none")  # a required relation

    class Meta:
        model = Notification
        fields = ("contact", "api_key", "approval", "template")


def test_a_field_read_through_a_missing_relation_answers_as_drf():
    """A field whose relation is None answers what DRF's reading answers: its default (made
    if callable), else None if it allows null; one whose relation is required but unset, None."""
    notification = Notification(contact=None, api_key=None)
    assert _ThroughRelations.represent(notification) == dict(_ThroughRelations(notification).data)
    assert _ThroughRelations.represent(notification) == {
        "contact": "nobody",
        "api_key": None,
        "approval": "made",
        "template": None,
    }


def test_a_choice_is_written_as_drf_writes_it():
    """Strings and Django's text choices are written by the compiled writer itself, anything
    else by the field: the same as the field's own answer."""
    field = serializers.ChoiceField(choices=[("first", "First"), ("all", "All"), (1, "One")])
    write = _representer(field)
    values: list[Any] = ["first", Routing.FIRST, Routing.ALL, "", "unknown", MessageStatus.QUEUED, 1, "1", 2]
    for value in values:
        assert write(value) == field.to_representation(value)
        assert type(write(value)) is type(field.to_representation(value))
