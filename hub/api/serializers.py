"""Explicit input and output serializers for the API."""

from __future__ import annotations

import copy
import operator
import threading
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from datetime import datetime, tzinfo
from typing import Any, ClassVar, TypeVar

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import ISO_8601, serializers
from rest_framework.fields import SkipField, empty
from rest_framework.settings import api_settings

from hub.contacts.validation import normalise_email, normalise_phone
from hub.messaging.intake import HeldRows
from hub.messaging.models import Message, MessageEvent, Notification, Routing
from hub.messaging.routing import delivered_channel
from hub.messaging.selectors import event_detail_shown, message_error_shown

CHANNEL_CHOICES = ("sms", "email", "push")


Fields = dict[str, serializers.Field[Any, Any, Any, Any]]
Writer = Callable[[Any], Any]
M = TypeVar("M", bound=models.Model)


class FieldsBuiltOnce(serializers.Serializer[Any]):
    """A serializer that builds its fields once per class, not on every instance: they depend
    only on the class. A ModelSerializer derived each from the model (a third of the CPU of
    answering a notification) and every serializer deep-copies its declared fields, DRF's
    deepcopy copying every argument too. Each instance still gets fields of its own (they are
    bound to it): new ones made from the same, read-only, arguments."""

    _built: ClassVar[dict[type, Fields]] = {}
    _prototypes: ClassVar[dict[type, serializers.Serializer[Any]]] = {}
    _prototype_lock: ClassVar[threading.Lock] = threading.Lock()

    _writers: ClassVar[dict[type, Writer]] = {}

    @classmethod
    def represent(cls, instance: Any) -> dict[str, Any]:
        """What ``cls(instance).data`` answers, from one serializer of this class whose fields
        (and its nested serializers' fields) are bound once per process and shared by every
        answer: reading an object through DRF's fields keeps no state in them, so only their
        making (half the CPU of answering a notification, ~1 ms a batch item) was per answer.
        The fields are read by a plain loop compiled from them (``_writer_of``), not by DRF's
        ``to_representation`` (a third of a batch item's answer)."""
        writer = cls._writers.get(cls)
        if writer is None:
            with cls._prototype_lock:
                writer = cls._writers.get(cls)
                if writer is None:
                    prototype = cls()
                    _bind_all(prototype)
                    cls._prototypes[cls] = prototype
                    writer = cls._writers[cls] = _writer_of(prototype)
        zone = _ANSWER_ZONE.set(timezone.get_current_timezone())  # read once per answer
        try:
            answer: dict[str, Any] = writer(instance)
        finally:
            _ANSWER_ZONE.reset(zone)
        return answer

    def get_fields(self) -> Fields:
        built = self._built.get(type(self))
        if built is None:
            built = self._built[type(self)] = super().get_fields()
        return {name: _fresh(field) for name, field in built.items()}


def _fresh(field: serializers.Field[Any, Any, Any, Any]) -> serializers.Field[Any, Any, Any, Any]:
    """An unbound field like ``field``. A field holding fields (a nested serializer, a list's
    child) is deep-copied as DRF does: its parts are bound to it, so they cannot be shared."""
    kwargs: dict[str, Any] = field._kwargs  # type: ignore[attr-defined]
    if isinstance(field, serializers.BaseSerializer) or any(
        isinstance(v, serializers.Field) for v in kwargs.values()
    ):
        return copy.deepcopy(field)
    return type(field)(*field._args, **kwargs)  # type: ignore[attr-defined]


def _bind_all(serializer: serializers.BaseSerializer[Any]) -> None:
    """Build and bind every field of ``serializer`` and of the serializers nested in it now,
    before it is shared between threads."""
    if isinstance(serializer, serializers.ListSerializer):
        _bind_all(serializer.child)  # type: ignore[arg-type]
        return
    for field in serializer.fields.values():  # type: ignore[attr-defined]
        if isinstance(field, serializers.BaseSerializer):
            _bind_all(field)


_ABSENT = object()
# The current time zone while an answer is written (``represent``): its datetimes are shown in
# it, as DRF's fields show them, read once for the answer instead of once per datetime.
_ANSWER_ZONE: ContextVar[tzinfo | None] = ContextVar("answer_zone", default=None)


# How ``_writer_of``'s loop reads a field: a column of the serializer's model (its value is
# data, never a callable to call), the object itself (``source="*"``: never None, never called),
# a nested list, or any other path (the field's own reading where it meets a missing relation
# or a callable).
_COLUMN, _ITSELF, _MANY, _PATH = range(4)


def _writer_of(serializer: serializers.BaseSerializer[Any]) -> Writer:
    """A function answering what ``serializer.to_representation`` answers, from its bound
    fields: a plain loop, each value read along the field's source (one ``attrgetter``) and
    written by ``_representer`` (the field's own ``to_representation``, or its plain equal)."""
    if isinstance(serializer, serializers.ListSerializer):
        child = _writer_of(serializer.child)  # type: ignore[arg-type]
        return lambda rows: [child(row) for row in rows]
    model = getattr(getattr(serializer, "Meta", None), "model", None)
    columns = {f.attname for f in model._meta.concrete_fields} if model is not None else set()
    plan: list[tuple[str, Any, int, Callable[[Any], Any], Callable[[Any], Any], Any]] = []
    for field in serializer._readable_fields:  # type: ignore[attr-defined]
        represent = (
            _writer_of(field) if isinstance(field, serializers.BaseSerializer) else _representer(field)
        )
        attrs: list[str] = field.source_attrs
        if isinstance(field, serializers.ListSerializer):
            kind = _MANY
        elif not attrs:
            kind = _ITSELF
        elif len(attrs) == 1 and attrs[0] in columns:
            kind = _COLUMN
        else:
            kind = _PATH
        get = operator.attrgetter(".".join(attrs)) if attrs else _itself
        plan.append((field.field_name, field, kind, get, represent, _on_none(field)))

    def write(instance: Any) -> dict[str, Any]:
        answer: dict[str, Any] = {}
        for name, field, kind, get, represent, on_none in plan:
            if kind == _COLUMN:
                value = get(instance)
            elif kind == _ITSELF:
                answer[name] = represent(instance)
                continue
            elif kind == _MANY:
                value = _related_rows(instance, field)
            else:
                try:
                    value = get(instance)
                except (AttributeError, ObjectDoesNotExist):
                    value = on_none(instance) if on_none is not None else _ABSENT
                if value is _ABSENT or callable(value):
                    # Where the path meets something else (a missing relation, a callable):
                    # the field's own reading.
                    try:
                        value = field.get_attribute(instance)
                    except SkipField:  # left out of the answer, as DRF leaves it
                        continue
            answer[name] = None if value is None else represent(value)
        return answer

    return write


def _on_none(field: serializers.Field[Any, Any, Any, Any]) -> Callable[[Any], Any] | None:
    """For a field whose source is a relation's attribute (``contact.external_id``): a function
    answering what DRF's reading gives when the relation is None (``getattr(None, …)`` fails,
    and the field falls back on its plain ``default``, else None if it allows null), or
    ``_ABSENT`` when it is not None; None for any other field (its own reading decides)."""
    attrs: list[str] = field.source_attrs
    if len(attrs) != 2 or hasattr(None, attrs[1]):
        return None
    if field.default is not empty:
        if callable(field.default) or getattr(field.root, "partial", False):
            return None
        missing = field.default
    elif field.allow_null:
        missing = None
    else:
        return None
    relation = operator.attrgetter(attrs[0])

    def on_none(instance: Any) -> Any:
        try:
            return missing if relation(instance) is None else _ABSENT
        except (AttributeError, ObjectDoesNotExist):
            return _ABSENT

    return on_none


def _itself(instance: Any) -> Any:
    return instance


def _same(value: Any) -> Any:
    return value


def _representer(field: serializers.Field[Any, Any, Any, Any]) -> Callable[[Any], Any]:
    """``field.to_representation``, or a plain function answering the same for the field types
    the answers are made of (exactly those classes: a subclass may represent otherwise)."""
    kind = type(field)
    if kind is serializers.CharField:
        return str  # CharField.to_representation: str(value)
    if kind is serializers.IntegerField:
        return int
    if kind is serializers.UUIDField and field.uuid_format == "hex_verbose":  # type: ignore[attr-defined]
        return str
    if kind is serializers.JSONField and not field.binary:  # type: ignore[attr-defined]
        return _same
    if kind is serializers.ChoiceField:
        return _choice_writer(field.choice_strings_to_values, field.to_representation)  # type: ignore[attr-defined]
    if kind is serializers.SerializerMethodField:
        # What its to_representation calls: the method of the (shared, bound once) serializer.
        method: Callable[[Any], Any] = getattr(field.parent, field.method_name)  # type: ignore[attr-defined]
        return method
    if (
        kind is serializers.DateTimeField
        and not hasattr(field, "timezone")
        and getattr(field, "format", api_settings.DATETIME_FORMAT) == ISO_8601
        and settings.USE_TZ
    ):
        return _iso_writer(field.to_representation)
    return field.to_representation


def _choice_writer(
    choices: Mapping[str, Any], to_representation: Callable[[Any], Any]
) -> Callable[[Any], Any]:
    """ChoiceField.to_representation (``''`` as it is, else the choice its text names, else the
    value) for a string or a member of Django's text choices (whose text is its value, so DRF
    keeps it, and reads it through two properties and ``__str__``); anything else the field's."""

    def write(value: Any) -> Any:
        if type(value) is str:
            return choices.get(value, value) if value else value
        if isinstance(value, models.TextChoices):
            text = value._value_
            return choices.get(text, value) if text else value
        return to_representation(value)

    return write


def _iso_writer(to_representation: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """DateTimeField.to_representation for an aware datetime, in ISO 8601: the time in the
    current zone, ``Z`` for UTC. Anything else (naive, a string, out of range) is the field's.

    The last text written is kept with the datetime and zone it shows (one tuple, replaced
    whole, so threads sharing the writer read it consistently): a batch's items show the same
    few datetimes (the accept's time), the same object again for each item."""
    last: list[tuple[Any, Any, str]] = [(None, None, "")]

    def write(value: Any) -> Any:
        zone = _ANSWER_ZONE.get() or timezone.get_current_timezone()
        shown, shown_zone, shown_text = last[0]
        if value is shown and zone is shown_zone:
            return shown_text
        if type(value) is datetime and value.utcoffset() is not None:
            try:
                text = value.astimezone(zone).isoformat()
            except OverflowError:
                return to_representation(value)
            text = text[:-6] + "Z" if text.endswith("+00:00") else text
            last[0] = (value, zone, text)
            return text
        return to_representation(value)

    return write


def _related_rows(instance: Any, field: Any) -> Any:
    """A nested list's rows: those prefetched for ``instance`` (as the intake and the selectors
    leave them), without a related manager; else the field's own reading."""
    attrs: list[str] = field.source_attrs
    if len(attrs) == 1:
        rows = _prefetched(instance, attrs[0])
        if rows is not None:
            return rows
    value = field.get_attribute(instance)
    return value.all() if hasattr(value, "all") else value


def _prefetched(instance: Any, name: str) -> list[Any] | None:
    """The rows prefetched for ``instance``'s relation ``name``, or None: those the intake
    holds (``HeldRows``: read without making their queryset) or a prefetched queryset's."""
    cache: Mapping[str, Any] | None = getattr(instance, "_prefetched_objects_cache", None)
    if cache is None:
        return None
    if type(cache) is HeldRows:
        return cache.rows(name)
    return getattr(cache.get(name), "_result_cache", None)


class BuiltOnceModelSerializer(FieldsBuiltOnce, serializers.ModelSerializer[M]):
    """A ModelSerializer whose fields are derived from the model once per class."""


def _wrong_type(field: serializers.Field[Any, Any, Any, Any], value: Any) -> str:
    """Why ``value`` is not of the JSON type the schema gives ``field``, or "". DRF coerces
    (``0`` into ``"0"`` for a string, ``"true"`` or ``1`` into ``True``, ``"5"`` into ``5``);
    the API does not: what the schema does not allow is refused."""
    if value is None:
        return ""  # null is the field's allow_null to judge
    if isinstance(field, serializers.CharField | serializers.ChoiceField) and not isinstance(value, str):
        return "Not a valid string."
    if isinstance(field, serializers.BooleanField) and not isinstance(value, bool):
        return "Must be a valid boolean."
    if isinstance(field, serializers.IntegerField) and (
        isinstance(value, bool) or not isinstance(value, int)
    ):
        return "A valid integer is required."
    if isinstance(field, serializers.ListField) and isinstance(value, list):
        for item in value:
            reason = _wrong_type(field.child, item)
            if reason:
                return reason
    return ""


class StrictSerializer(FieldsBuiltOnce):
    """Unknown fields and values of another JSON type than the field's are refused."""

    # How many keys the body needs; stated in the schema, enforced by the class's validate()
    # with a specific message.
    min_properties: ClassVar[int] = 0
    max_properties: ClassVar[int | None] = None

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            errors: dict[str, list[str]] = {
                name: ["This field is not accepted."] for name in sorted(set(data) - set(self.fields))
            }
            for name, field in self.fields.items():
                reason = _wrong_type(field, data.get(name)) if name in data and not field.read_only else ""
                if reason:
                    errors[name] = [reason]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class ChannelsField(serializers.ListField):
    """Channels in order of preference, each at most once (``uniqueItems`` in the schema)."""

    unique_items = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=serializers.ChoiceField(choices=CHANNEL_CHOICES), **kwargs)

    def to_internal_value(self, data: Any) -> list[Any]:
        value: list[Any] = super().to_internal_value(data)
        if len(set(value)) != len(value):
            raise serializers.ValidationError("Each channel may appear once.")
        return value


class RecipientSerializer(StrictSerializer):
    min_properties = 1
    external_id = serializers.CharField(required=False, max_length=128)
    email = serializers.CharField(required=False, max_length=254)
    phone = serializers.CharField(required=False, max_length=32, help_text="E.164, e.g. +447911123456")
    push = serializers.CharField(required=False, max_length=4096, help_text="An FCM token.")

    def validate_email(self, value: str) -> str:
        try:
            return normalise_email(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages, code=exc.code) from exc

    def validate_phone(self, value: str) -> str:
        try:
            return normalise_phone(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages, code=exc.code) from exc

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
    channels = ChannelsField(
        required=False,
        default=list,
        help_text="Channels in order of preference; default: every channel the template has.",
    )
    routing = serializers.ChoiceField(choices=Routing.choices, default=Routing.FIRST)
    send_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    locale = serializers.CharField(required=False, default="", allow_blank=True, max_length=35)
    reference = serializers.CharField(required=False, default="", allow_blank=True, max_length=200)


class MessageEventSerializer(BuiltOnceModelSerializer[MessageEvent]):
    detail = serializers.SerializerMethodField(
        help_text="What the hub or provider said; the message's own address replaced by `[address]`."
    )

    def get_detail(self, obj: MessageEvent) -> Any:
        return event_detail_shown(obj)

    class Meta:
        model = MessageEvent
        fields = ("kind", "status", "detail", "source", "occurred_at")


class MessageSerializer(BuiltOnceModelSerializer[Message]):
    notification = serializers.UUIDField(source="notification_id")
    events = MessageEventSerializer(many=True)
    decision = serializers.JSONField(
        read_only=True,
        help_text="The compliance decision: outcome, reason, rules consulted with their versions, "
        "the inputs that mattered, and `sentence`, e.g. 'deferred by quiet_hours_marketing_sms v1: "
        "22:14 Europe/London is outside 08:00-21:00'.",
    )
    error_message = serializers.SerializerMethodField(
        help_text="The provider's error, the message's own address replaced by `[address]`."
    )

    def get_error_message(self, obj: Message) -> str:
        return message_error_shown(obj)

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


class NotificationSerializer(BuiltOnceModelSerializer[Notification]):
    template = serializers.CharField(source="template.key")
    template_version = serializers.IntegerField(source="template_version.number")
    contact = serializers.CharField(source="contact.external_id", allow_null=True, default=None)
    delivered_channel = serializers.SerializerMethodField(
        help_text="The channel that finally reached the person (a delivered message); empty until then."
    )
    messages = MessageSerializer(many=True)

    def get_delivered_channel(self, obj: Notification) -> str:
        messages = _prefetched(obj, "messages")
        return delivered_channel(list(obj.messages.all()) if messages is None else messages)

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
