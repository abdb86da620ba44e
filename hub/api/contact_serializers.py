"""Input and output serializers for contacts, consents and preferences (SPEC §2 field names)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiExample, extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from hub.api.serializers import CHANNEL_CHOICES, StrictSerializer
from hub.contacts.models import ConsentEntry, ConsentSource, Contact, Device, DeviceKind
from hub.contacts.preferences import CATEGORIES
from hub.contacts.sync import ContactData, DeviceData
from hub.contacts.validation import normalise_email, normalise_phone

BULK_MAX = 10000
# The consent sources a caller of the API may claim. The others (preference page, one-click,
# SMS keyword, complaint, bounce, provider, admin) are written by the hub's own pages, inbound
# handling and feedback; accepting them here would let a key forge their evidence.
API_CONSENT_SOURCES = (ConsentSource.API,)


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


class WebPushKeysSerializer(StrictSerializer):
    p256dh = serializers.CharField(max_length=200)
    auth = serializers.CharField(max_length=100)


class WebPushSubscriptionSerializer(StrictSerializer):
    endpoint = serializers.URLField(max_length=2000)
    keys = WebPushKeysSerializer()
    expirationTime = serializers.IntegerField(required=False, allow_null=True)


class DeviceSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=DeviceKind.choices)
    token = serializers.CharField(required=False, max_length=4096, help_text="FCM registration token.")
    subscription = WebPushSubscriptionSerializer(required=False, help_text="Web Push subscription.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["kind"] == DeviceKind.FCM and not attrs.get("token"):
            raise serializers.ValidationError({"token": "An FCM device needs its registration token."})
        if attrs["kind"] == DeviceKind.WEBPUSH:
            if not attrs.get("subscription"):
                raise serializers.ValidationError(
                    {"subscription": "A Web Push device needs its subscription."}
                )
            attrs["token"] = attrs["subscription"]["endpoint"]
        return attrs


class ContactWriteSerializer(StrictSerializer):
    email = serializers.CharField(required=False, allow_blank=True, default="", max_length=254)
    phone = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=32, help_text="E.164, e.g. +447911123456"
    )
    locale = serializers.CharField(required=False, allow_blank=True, default="", max_length=35)
    timezone = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=64, help_text="IANA, e.g. Europe/London"
    )
    attributes = serializers.DictField(required=False, default=dict)
    devices = DeviceSerializer(
        many=True, required=False, help_text="Replaces the contact's devices if given."
    )

    def validate_email(self, value: str) -> str:
        return _django_check(normalise_email, value) if value else ""

    def validate_phone(self, value: str) -> str:
        return _django_check(normalise_phone, value) if value else ""

    def validate_timezone(self, value: str) -> str:
        if value and value not in _zones():
            raise serializers.ValidationError(
                "Use an IANA time zone name, e.g. Europe/London.", code="unknown_timezone"
            )
        return value

    def to_contact_data(self, external_id: str, attrs: dict[str, Any]) -> ContactData:
        devices = attrs.get("devices")
        return ContactData(
            external_id=external_id,
            email=attrs["email"],
            phone=attrs["phone"],
            locale=attrs["locale"],
            timezone=attrs["timezone"],
            attributes=attrs["attributes"],
            devices=None
            if devices is None
            else [DeviceData(d["kind"], d["token"], dict(d.get("subscription") or {})) for d in devices],
        )


def _django_check(check: Any, value: str) -> str:
    try:
        result: str = check(value)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.messages, code=exc.code) from exc
    return result


class BulkContactSerializer(ContactWriteSerializer):
    external_id = serializers.CharField(max_length=128)


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "Two contacts from a CRM",
            value={
                "contacts": [
                    {"external_id": "cust-1001", "email": "ada@example.com", "timezone": "Europe/London"},
                    {"external_id": "cust-1002", "phone": "+447911123456", "locale": "fr"},
                ]
            },
            request_only=True,
        )
    ]
)
class ContactBulkSerializer(StrictSerializer):
    contacts = BulkContactSerializer(many=True, max_length=BULK_MAX, allow_empty=False)  # type: ignore[call-arg]


class ContactDeviceSerializer(serializers.ModelSerializer[Device]):
    """A device as the API shows it: never its FCM token or Web Push subscription (SPEC §4),
    which would let anyone holding them push to the person's phone or browser."""

    class Meta:
        model = Device
        fields = ("id", "kind", "created_at")


class ContactSerializer(serializers.ModelSerializer[Contact]):
    devices = serializers.SerializerMethodField()

    class Meta:
        model = Contact
        fields = (
            "external_id",
            "email",
            "phone",
            "locale",
            "timezone",
            "attributes",
            "devices",
            "created_at",
            "updated_at",
        )

    @extend_schema_field(ContactDeviceSerializer(many=True))
    def get_devices(self, obj: Contact) -> list[dict[str, Any]]:
        active = [d for d in obj.devices.all() if d.removed_at is None]
        return list(ContactDeviceSerializer(active, many=True).data)


class BulkResultSerializer(serializers.Serializer[Any]):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()


class ConsentEvidenceSerializer(StrictSerializer):
    wording_version = serializers.CharField(max_length=100, help_text="Which consent wording was shown.")
    ip = serializers.IPAddressField(required=False)
    user_agent = serializers.CharField(required=False, max_length=500)
    captured_at = serializers.DateTimeField(required=False, help_text="When the person gave or withdrew it.")


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "Marketing email consent from a sign-up form",
            value={
                "channel": "email",
                "purpose": "marketing",
                "granted": True,
                "evidence": {
                    "wording_version": "signup-2026-01",
                    "ip": "203.0.113.7",
                    "user_agent": "Mozilla/5.0",
                },
            },
            request_only=True,
        )
    ]
)
class ConsentCreateSerializer(StrictSerializer):
    channel = serializers.ChoiceField(choices=CHANNEL_CHOICES)
    purpose = serializers.ChoiceField(
        choices=CATEGORIES, help_text="The category: marketing or transactional."
    )
    granted = serializers.BooleanField()
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=[(s.value, s.label) for s in API_CONSENT_SOURCES],
        default=ConsentSource.API,
        error_messages={
            "invalid_choice": "The API records consent with source 'api' only; '{input}' is written "
            "by the hub itself (preference page, one-click unsubscribe, SMS keywords, feedback, admin)."
        },
    )
    evidence = ConsentEvidenceSerializer()


class ConsentEntrySerializer(serializers.ModelSerializer[ConsentEntry]):
    class Meta:
        model = ConsentEntry
        fields = ("id", "channel", "purpose", "granted", "source", "evidence", "created_at")


class PreferenceSerializer(StrictSerializer):
    category = serializers.ChoiceField(choices=CATEGORIES)
    channel = serializers.ChoiceField(choices=CHANNEL_CHOICES)
    granted = serializers.BooleanField(allow_null=True, help_text="null: nothing recorded yet.")


class PreferencesSerializer(StrictSerializer):
    preferences = PreferenceSerializer(many=True)


class PreferencesUpdateItemSerializer(StrictSerializer):
    category = serializers.ChoiceField(choices=CATEGORIES)
    channel = serializers.ChoiceField(choices=CHANNEL_CHOICES)
    granted = serializers.BooleanField()


class PreferencesUpdateSerializer(StrictSerializer):
    preferences = PreferencesUpdateItemSerializer(many=True, allow_empty=False)
    evidence = ConsentEvidenceSerializer(required=False)

    def validate_preferences(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        keys = [(p["category"], p["channel"]) for p in value]
        if len(set(keys)) != len(keys):
            raise serializers.ValidationError("Each category and channel may appear once.", code="duplicate")
        return value


class ErasureSerializer(serializers.Serializer[Any]):
    erased = serializers.BooleanField()
    notifications = serializers.IntegerField()
    messages = serializers.IntegerField()
    stopped = serializers.IntegerField(help_text="Messages not yet sent, now blocked (erased).")
