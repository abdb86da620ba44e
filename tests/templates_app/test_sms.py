"""SMS encoding and segment counting, as carriers count them."""

from __future__ import annotations

import pytest

from templates_app.sms import sms_info


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 0),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),  # extension characters take two septets
        ("[" * 81, "GSM-7", 162, 2),
        ("é ü ñ à", "GSM-7", 7, 1),  # in the GSM basic set
        ("ç", "UCS-2", 1, 1),  # lower-case ç is not (only Ç is)
        ("a" * 70 + "✓", "UCS-2", 71, 2),
        ("😀" * 35, "UCS-2", 70, 1),  # outside the BMP: two UTF-16 units each
        ("😀" * 36, "UCS-2", 72, 2),
    ],
)
def test_encoding_units_and_segments(text, encoding, units, segments):
    info = sms_info(text)
    assert (info.encoding, info.units, info.segments) == (encoding, units, segments)


def test_names_the_characters_that_forced_ucs2_once_each():
    assert sms_info("Café ✓ ✓ — ok").ucs2_characters == ("✓", "—")
