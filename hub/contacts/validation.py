"""Address validation shared by the API and admin: one clear message per bad value."""

from __future__ import annotations

import phonenumbers
from django.core.exceptions import ValidationError
from email_validator import EmailNotValidError, validate_email

from hub.contacts.selectors import phone_parsed, phone_valid


def normalise_phone(raw: str) -> str:
    """Return the number in E.164, or raise ValidationError saying what is wrong.

    The parse and the region come from the per-process caches the compliance decision reads
    (``hub.contacts.selectors``): a number given in E.164, as the API asks, is parsed and
    placed in its region once for the request, not once here and again for its decision."""
    number = phone_parsed(raw)
    if number is None:
        raise ValidationError(
            "Enter the phone number in international E.164 form, e.g. +447911123456.", code="invalid_phone"
        )
    # What phonenumbers.is_valid_number answers, from the cache (matched once for its region,
    # its validity and, for the decision, its time zones).
    if not phone_valid(raw):
        raise ValidationError("This is not a valid phone number for its country.", code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str) -> str:
    """Return the address with its domain normalised, or raise ValidationError."""
    try:
        result = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationError(f"This is not a valid email address: {exc}", code="invalid_email") from exc
    return str(result.normalized)
