"""Request validation for ``/v2/`` with Notify's rules and messages: unknown properties
refused, required fields, UUIDs, ``reference`` up to 1,000 characters, ``scheduled_for``
within the next 24 hours, ``one_click_unsubscribe_url`` https only. Every problem is
reported (a ``ValidationError`` each), as Notify does."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone

from hub.contacts.validation import normalise_email, normalise_phone
from hub.notify.errors import NotifyError
from hub.notify.simulated import SIMULATED_PHONE_NUMBERS

MAX_REFERENCE = 1000
SCHEDULE_WINDOW = timedelta(hours=24)
ISO_HINT = (
    "datetime format is invalid. It must be a valid ISO8601 date time format, "
    "https://en.wikipedia.org/wiki/ISO_8601"
)

_COMMON = ("template_id", "personalisation", "reference", "scheduled_for")
SMS_FIELDS = (*_COMMON, "phone_number", "sms_sender_id")
EMAIL_FIELDS = (
    *_COMMON,
    "email_address",
    "email_reply_to_id",
    "one_click_unsubscribe_url",
    "sanitise_content_for",
)


@dataclass
class SendRequest:
    """A validated ``POST /v2/notifications/{sms,email}`` body."""

    type: str
    to: str
    template_id: uuid.UUID
    personalisation: dict[str, Any] = field(default_factory=dict)
    reference: str = ""
    scheduled_for: datetime | None = None
    sender_id: uuid.UUID | None = None
    one_click_unsubscribe_url: str = ""


class _Errors:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, message: str) -> None:
        if message not in self.messages:
            self.messages.append(message)

    def raise_any(self) -> None:
        if self.messages:
            first, *more = self.messages
            raise NotifyError(400, "ValidationError", first, more=more)


def is_uuid(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _type_name(value: Any) -> str:
    return {dict: "object", list: "array", bool: "boolean", int: "integer", float: "number"}.get(
        type(value), "string" if isinstance(value, str) else "null"
    )


def parse_scheduled_for(value: str, *, now: datetime | None = None) -> tuple[datetime | None, str]:
    """The time (UTC) and '' or None and Notify's message."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None, f"scheduled_for {ISO_HINT}"
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # Notify reads a time without an offset as UTC
    now = now or timezone.now()
    if parsed < now:
        return None, "scheduled_for datetime can not be in the past"
    if parsed > now + SCHEDULE_WINDOW:
        return None, "scheduled_for datetime can only be 24 hours in the future"
    return parsed, ""


def notify_phone(raw: str) -> str:
    """E.164 for a number as Notify takes it: international, or a UK number without +44
    (Notify's users write ``07700 900123``); Notify's simulated numbers are taken although
    they are in a range no phone has."""
    try:
        return normalise_phone(raw)
    except DjangoValidationError:
        pass
    try:
        number = phonenumbers.parse(raw, "GB")
    except phonenumbers.NumberParseException as exc:
        raise DjangoValidationError("Not a valid phone number.") from exc
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if e164 in SIMULATED_PHONE_NUMBERS:
        return e164
    if raw.strip().startswith("+") or not phonenumbers.is_valid_number(number):
        raise DjangoValidationError("Not a valid phone number.")
    return e164


def _is_https_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme == "https" and bool(parts.netloc)


def send_request_validate(body: Any, *, type: str) -> SendRequest:
    """The body as a SendRequest, or NotifyError 400 listing every problem."""
    errors = _Errors()
    if not isinstance(body, Mapping):
        raise NotifyError(400, "ValidationError", f"{body!r} is not of type object".replace("'", ""))
    allowed = SMS_FIELDS if type == "sms" else EMAIL_FIELDS
    address_field = "phone_number" if type == "sms" else "email_address"
    sender_field = "sms_sender_id" if type == "sms" else "email_reply_to_id"
    for name in (address_field, "template_id"):
        if name not in body:
            errors.add(f"{name} is a required property")
    unexpected = [k for k in body if k not in allowed]
    if unexpected:
        listed = ", ".join(repr(k).replace("'", "") for k in unexpected)
        verb = "was" if len(unexpected) == 1 else "were"
        errors.add(f"Additional properties are not allowed ({listed} {verb} unexpected)")
    for name in ("template_id", sender_field):
        if name in body and not is_uuid(body[name]):
            errors.add(f"{name} is not a valid UUID")
    personalisation = body.get("personalisation", {})
    if personalisation is None:
        personalisation = {}
    if not isinstance(personalisation, Mapping):
        errors.add("personalisation should contain key value pairs")
    reference = body.get("reference", "")
    if not isinstance(reference, str):
        errors.add(f"reference {reference!r} is not of type string".replace("'", ""))
    elif len(reference) > MAX_REFERENCE:
        errors.add(f"reference is too long (the limit is {MAX_REFERENCE:,} characters)")
    to = body.get(address_field)
    address = ""
    if address_field in body:
        if not isinstance(to, str):
            errors.add(f"{address_field} {to!r} is not of type string".replace("'", ""))
        else:
            try:
                address = notify_phone(to) if type == "sms" else normalise_email(to)
            except DjangoValidationError:
                errors.add(
                    f"{address_field} Not a valid international number"
                    if type == "sms"
                    else f"{address_field} Not a valid email address"
                )
    scheduled_for = None
    raw_schedule = body.get("scheduled_for")
    if raw_schedule is not None:
        if not isinstance(raw_schedule, str):
            errors.add(f"scheduled_for {raw_schedule!r} is not of type string, null".replace("'", ""))
        else:
            scheduled_for, message = parse_scheduled_for(raw_schedule)
            if message:
                errors.add(message)
    unsubscribe = body.get("one_click_unsubscribe_url", "") if type == "email" else ""
    if unsubscribe and not _is_https_url(unsubscribe):
        errors.add("one_click_unsubscribe_url is not a valid https url")
    sanitise = body.get("sanitise_content_for") if type == "email" else None
    if sanitise is not None and not isinstance(sanitise, list):
        errors.add(f"sanitise_content_for {_type_name(sanitise)} is not of type array, null")
    errors.raise_any()
    sender = body.get(sender_field)
    return SendRequest(
        type=type,
        to=address,
        template_id=uuid.UUID(body["template_id"]),
        personalisation=dict(personalisation),
        reference=reference,
        scheduled_for=scheduled_for,
        sender_id=uuid.UUID(sender) if sender else None,
        one_click_unsubscribe_url=str(unsubscribe or ""),
    )


def preview_request_validate(body: Any) -> dict[str, Any]:
    """``POST /v2/template/{id}/preview``'s personalisation (Notify requires it)."""
    errors = _Errors()
    if not isinstance(body, Mapping):
        body = {}
    if "personalisation" not in body:
        errors.add("personalisation is a required property")
    elif not isinstance(body["personalisation"], Mapping):
        errors.add("personalisation should contain key value pairs")
    errors.raise_any()
    return dict(body["personalisation"])
