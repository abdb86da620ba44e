"""SMS encoding and segments: GSM-7 (with its extension table) or UCS-2, as carriers count them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "^{}\\[~]|€\f"
_BASIC = frozenset(GSM7_BASIC)
_EXTENSION = frozenset(GSM7_EXTENSION)


@dataclass(frozen=True)
class SmsInfo:
    """How a text travels: encoding, length in its units, segments, and what forced UCS-2."""

    encoding: str  # "GSM-7" or "UCS-2"
    units: int
    segments: int
    per_segment: int
    ucs2_characters: tuple[str, ...]

    def cost(self, price_per_segment: Decimal) -> Decimal:
        return price_per_segment * self.segments

    def as_dict(self) -> dict[str, object]:
        return {
            "encoding": self.encoding,
            "units": self.units,
            "segments": self.segments,
            "per_segment": self.per_segment,
            "ucs2_characters": list(self.ucs2_characters),
        }


def sms_info(text: str) -> SmsInfo:
    """Encoding and segment count of ``text``.

    GSM-7: 160 septets in one segment, 153 per segment when concatenated; extension
    characters (€, [, ] ...) take two. UCS-2: 70 UTF-16 units, 67 when concatenated; a
    character outside the BMP (most emoji) takes two.
    """
    forcing = tuple(dict.fromkeys(c for c in text if c not in _BASIC and c not in _EXTENSION))
    if not forcing:
        units = sum(2 if c in _EXTENSION else 1 for c in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    if units == 0:
        segments = 0
    elif units <= single:
        segments = 1
    else:
        segments = -(-units // multi)
    return SmsInfo(
        encoding=encoding,
        units=units,
        segments=segments,
        per_segment=single if segments <= 1 else multi,
        ucs2_characters=forcing,
    )


# Links as the hub finds them in text (SMS, an email's text part): http(s) up to whitespace,
# without trailing punctuation. ``hub.tracking`` rewrites exactly these.
LINK_RE = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
LINK_TRAILING = ".,;:!?)]}'\""
# A tracked link is ``{HUB_BASE_URL}/l/{token}`` with a token of this many characters
# (``hub.tracking.tokens``: a 7-character id and an 8-character signature, base62).
TRACKED_TOKEN_LENGTH = 15


def text_links(text: str) -> list[tuple[int, int, str]]:
    """Each link in ``text``: (start, end, url), trailing punctuation left out."""
    found = []
    for match in LINK_RE.finditer(text):
        url = match.group(0).rstrip(LINK_TRAILING)
        if "://" in url and url.split("://", 1)[1]:
            found.append((match.start(), match.start() + len(url), url))
    return found


def tracked_link_example() -> str:
    """What every tracked link in a message looks like, for counting (same length)."""
    return f"{settings.HUB_BASE_URL}/l/{'x' * TRACKED_TOKEN_LENGTH}"


def links_shortened(text: str) -> str:
    """``text`` with each link replaced by a tracked link of the same length as dispatch will
    write, so the segment counter and the lint count what is sent."""
    out: list[str] = []
    last = 0
    for start, end, _ in text_links(text):
        out.extend((text[last:start], tracked_link_example()))
        last = end
    out.append(text[last:])
    return "".join(out)


def sms_info_sent(text: str, *, tracked: bool) -> SmsInfo:
    """Encoding and segments of the SMS as sent: with its links shortened when tracked."""
    return sms_info(links_shortened(text) if tracked else text)
