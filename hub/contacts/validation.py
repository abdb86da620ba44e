"""Address validation shared by the API and admin: one clear message per bad value."""

from __future__ import annotations

import phonenumbers
from django.core.exceptions import ValidationError
from email_validator import EmailNotValidError, validate_email


def normalise_phone(raw: str) -> str:
    """Return the number in E.164, or raise ValidationError saying what is wrong."""
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            "Enter the phone number in international E.164 form, e.g. +447911123456.", code="invalid_phone"
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError("This is not a valid phone number for its country.", code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str) -> str:
    """Return the address with its domain normalised, or raise ValidationError."""
    try:
        result = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationError(f"This is not a valid email address: {exc}", code="invalid_email") from exc
    return str(result.normalized)
