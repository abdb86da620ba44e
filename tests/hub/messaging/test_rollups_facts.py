"""What the rollups count per message (a number's country, a text's segments) answers as
phonenumbers and the per-character count did, from the shared phone facts and set operations."""

from __future__ import annotations

import math

import phonenumbers
import pytest

from hub.messaging.rollups import GSM7, GSM7_EXTENDED, country_of, sms_segments
from tests.hub.contacts.test_selectors import PHONES


def _country_as_phonenumbers(to: str) -> str:
    try:
        number = phonenumbers.parse(to)
    except phonenumbers.NumberParseException:
        return ""
    region = phonenumbers.region_code_for_number(number) or phonenumbers.region_code_for_country_code(
        number.country_code or 0
    )
    return "" if region in ("ZZ", "001") else region


@pytest.mark.parametrize("to", [*PHONES, "+", "+abc", "+999123456", "+80012345678", "+3"])
def test_country_is_what_phonenumbers_answers(to: str) -> None:
    assert country_of("sms", to) == _country_as_phonenumbers(to)
    assert country_of("email", to) == ""


def _segments_per_character(text: str) -> int:
    if not text:
        return 0
    if all(c in GSM7 or c in GSM7_EXTENDED for c in text):
        units = sum(2 if c in GSM7_EXTENDED else 1 for c in text)
        return 1 if units <= 160 else math.ceil(units / 153)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Hi Ada, your code is 123456.",
        "€" * 79 + "a",
        "€" * 80 + "a",
        "[{x}]" * 40,
        "^" * 153,
        "ü" * 161,
        "✓ done",
        "😀" * 36,
        "a" * 1000,
        "\f\n\r ~|",
    ],
)
def test_segments_are_what_the_count_per_character_gives(text: str) -> None:
    assert sms_segments(text) == _segments_per_character(text)
