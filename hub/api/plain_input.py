"""The notification body and answer without DRF machinery per item (issue 16): compiled once
per process from the serializers themselves, so they stay the one definition.

* :func:`notification_input` reads a ``POST /api/v1/notifications`` body (or one batch item)
  that is plainly valid: the right JSON types, no text DRF would trim or refuse, the lengths
  and choices of ``NotificationCreateSerializer``'s fields, its recipient's ``validate_<field>``
  methods (a phone number normalised, an email address). It never refuses: anything else
  (an unknown key, a wrong type, a ``send_at`` to parse, a value out of bounds) answers None,
  and the caller runs the serializer, which gives DRF's own errors, texts and shape.

The answers are written the same way by ``FieldsBuiltOnce.represent`` (``hub.api.serializers``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from rest_framework import serializers
from rest_framework.fields import empty

from hub.api.serializers import NotificationCreateSerializer, RecipientSerializer
from hub.messaging.intake import NotificationRequest

T = TypeVar("T")
Reader = Callable[[Any], Any]  # one field's value, or _ABSENT when the body does not qualify
_ABSENT = object()


def _text(field: serializers.CharField) -> Reader:
    limit = field.max_length
    blank = field.allow_blank

    def read(value: Any) -> Any:
        if type(value) is not str or (not value and not blank) or (limit is not None and len(value) > limit):
            return _ABSENT
        # DRF trims, and refuses NUL and lone surrogates: such text goes to the serializer.
        if value != value.strip() or "\x00" in value or (not value.isascii() and not _encodable(value)):
            return _ABSENT
        return value

    return read


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _choice(field: serializers.ChoiceField) -> Reader:
    choices = frozenset(str(k) for k in field.choices)
    return lambda value: value if type(value) is str and value in choices else _ABSENT


def _channels(field: serializers.ListField) -> Reader:
    child = field.child
    assert isinstance(child, serializers.ChoiceField)  # noqa: S101 - ChannelsField's child
    choices = frozenset(str(k) for k in child.choices)

    def read(value: Any) -> Any:
        if type(value) is not list or not all(type(c) is str and c in choices for c in value):
            return _ABSENT
        return list(value) if len(set(value)) == len(value) else _ABSENT

    return read


def _mapping(value: Any) -> Any:
    return {str(k): v for k, v in value.items()} if type(value) is dict else _ABSENT


def _null_only(value: Any) -> Any:
    return None if value is None else _ABSENT


def _recipient(serializer: RecipientSerializer) -> Reader:
    """A ``to`` object: known keys only, at least one, each plain text passed through the
    serializer's own ``validate_<name>`` (phone and email normalised as it does)."""
    readers: dict[str, tuple[Reader, Callable[[Any], Any] | None]] = {}
    for name, field in serializer.fields.items():
        assert isinstance(field, serializers.CharField)  # noqa: S101 - the recipient is text
        readers[name] = (_text(field), getattr(serializer, f"validate_{name}", None))

    def read(value: Any) -> Any:
        if type(value) is not dict or not value or not set(value) <= readers.keys():
            return _ABSENT
        out: dict[str, Any] = {}
        for name, (reader, validate) in readers.items():  # in the serializer's field order
            if name not in value:
                continue
            item = reader(value[name])
            if item is _ABSENT:
                return _ABSENT
            if validate is not None:
                try:
                    item = validate(item)
                except serializers.ValidationError:
                    return _ABSENT
            out[name] = item
        return out

    return read


class _Compiled:
    """The readers of NotificationCreateSerializer's fields, each with its default."""

    def __init__(self) -> None:
        serializer = NotificationCreateSerializer()
        self.readers: dict[str, tuple[Reader, Any]] = {}
        for name, field in serializer.fields.items():
            reader: Reader
            if isinstance(field, RecipientSerializer):
                reader = _recipient(field)
            elif isinstance(field, serializers.ListField):
                reader = _channels(field)
            elif isinstance(field, serializers.ChoiceField):
                reader = _choice(field)
            elif isinstance(field, serializers.CharField):
                reader = _text(field)
            elif isinstance(field, serializers.DictField):
                reader = _mapping
            elif isinstance(field, serializers.DateTimeField):
                reader = _null_only  # a time to parse goes to the serializer
            else:
                raise TypeError(f"no compiled reader for {name} ({type(field).__name__})")
            default = empty if field.required else field.default
            self.readers[name] = (reader, default)


_compiled: _Compiled | None = None
_lock = threading.Lock()


def _readers() -> _Compiled:
    global _compiled
    if _compiled is None:
        with _lock:
            if _compiled is None:
                _compiled = _Compiled()
    return _compiled


def notification_input(body: Any) -> NotificationRequest | None:
    """The request a plainly valid body makes, as the serializer's ``validated_data`` would;
    None when the serializer must judge it (it may still be valid)."""
    if type(body) is not dict:
        return None
    readers = _readers().readers
    if not set(body) <= readers.keys():
        return None
    values: dict[str, Any] = {}
    for name, (reader, default) in readers.items():
        if name in body:
            value = reader(body[name])
            if value is _ABSENT:
                return None
        elif default is empty:
            return None
        else:
            value = default() if callable(default) else default
        values[name] = value
    return NotificationRequest(**values)


def plain_batch(body: Any, *, key: str, limit: int, read: Callable[[Any], T | None]) -> list[T] | None:
    """The items of a batch body ``{key: [...]}`` holding 1 to ``limit`` items, each read by
    ``read``; None when the body or any item is not plainly valid (the serializers judge it)."""
    if type(body) is not dict or body.keys() != {key}:
        return None
    items = body[key]
    if type(items) is not list or not 1 <= len(items) <= limit:
        return None
    out: list[T] = []
    for item in items:
        value = read(item)
        if value is None:
            return None
        out.append(value)
    return out
