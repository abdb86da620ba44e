"""Explicit input and output serializers for the API."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from hub.contacts.validation import normalise_email, normalise_phone
from hub.messaging.models import Message, MessageEvent, Notification, Routing
from hub.messaging.routing import delivered_channel

CHANNEL_CHOICES = ("sms", "email", "push")


class StrictSerializer(serializers.Serializer[Any]):
    """Refuses fields it does not know, so a typo or an attempt to set e.g. ``status`` is an error."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["This field is not accepted."] for name in unknown})
        return super().to_internal_value(data)


class RecipientSerializer(StrictSerializer):
    external_id = serializers.CharField(required=False, max_length=128)
    email = serializers.CharField(required=False, max_length=254)
    phone = serializers.CharField(required=False, max_length=32, help_text="E.164, e.g. +447911123456")
    push = serializers.CharField(required=False, max_length=4096, help_text="An FCM token.")

    def validate_email(self, value: str) -> str:
        try:
            return normalise_email(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc

    def validate_phone(self, value: str) -> str:
        try:
            return normalise_phone(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError("Give an external_id, or an email, phone or push address.")
        return attrs


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "Order shipped, by contact",
            value={
                "template": "order.shipped",
                "to": {"external_id": "cust-1001"},
                "data": {"order_number": "A-1042", "first_name": "Ada"},
                "channels": ["sms", "email"],
                "routing": "first",
                "reference": "order-A-1042",
            },
            request_only=True,
        ),
        OpenApiExample(
            "Inline phone number",
            value={
                "template": "order.shipped",
                "to": {"phone": "+447911123456"},
                "data": {"order_number": "A-1042", "first_name": "Ada"},
            },
            request_only=True,
        ),
    ]
)
class NotificationCreateSerializer(StrictSerializer):
    template = serializers.CharField(max_length=100, help_text="The template key, e.g. order.shipped.")
    to = RecipientSerializer()
    # DRF's metaclass pops declared fields, so this does not shadow Serializer.data at run time.
    data = serializers.DictField(  # type: ignore[assignment]
        required=False, default=dict, help_text="Values for the template's variables."
    )
    channels = serializers.ListField(
        child=serializers.ChoiceField(choices=CHANNEL_CHOICES),
        required=False,
        default=list,
        help_text="Channels in order of preference; default: every channel the template has.",
    )
    routing = serializers.ChoiceField(choices=Routing.choices, default=Routing.FIRST)
    send_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    locale = serializers.CharField(required=False, default="", allow_blank=True, max_length=35)
    reference = serializers.CharField(required=False, default="", allow_blank=True, max_length=200)

    def validate_channels(self, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise serializers.ValidationError("Each channel may appear once.")
        return value


class MessageEventSerializer(serializers.ModelSerializer[MessageEvent]):
    class Meta:
        model = MessageEvent
        fields = ("kind", "status", "detail", "source", "occurred_at")


class MessageSerializer(serializers.ModelSerializer[Message]):
    notification = serializers.UUIDField(source="notification_id")
    events = MessageEventSerializer(many=True)
    decision = serializers.JSONField(
        read_only=True,
        help_text="The compliance decision: outcome, reason, rules consulted with their versions, "
        "the inputs that mattered, and `sentence`, e.g. 'deferred by quiet_hours_marketing_sms v1: "
        "22:14 Europe/London is outside 08:00-21:00'.",
    )

    class Meta:
        model = Message
        fields = (
            "id",
            "notification",
            "channel",
            "category",
            "status",
            "block_reason",
            "provider",
            "provider_message_id",
            "attempts",
            "error_code",
            "error_message",
            "not_before",
            "decision",
            "decided_by",
            "created_at",
            "status_changed_at",
            "events",
        )


class NotificationSerializer(serializers.ModelSerializer[Notification]):
    template = serializers.CharField(source="template.key")
    template_version = serializers.IntegerField(source="template_version.number")
    contact = serializers.CharField(source="contact.external_id", allow_null=True, default=None)
    delivered_channel = serializers.SerializerMethodField(
        help_text="The channel that finally reached the person (a delivered message); empty until then."
    )
    messages = MessageSerializer(many=True)

    def get_delivered_channel(self, obj: Notification) -> str:
        return delivered_channel(list(obj.messages.all()))

    class Meta:
        model = Notification
        fields = (
            "id",
            "template",
            "template_version",
            "contact",
            "channels",
            "routing",
            "locale",
            "reference",
            "send_at",
            "created_at",
            "cancelled_at",
            "delivered_channel",
            "messages",
        )
