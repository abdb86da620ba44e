"""Short signed tokens for tracked links and open pixels.

A token is 15 base62 characters: the link's id in 7 (up to 62^7, about 3.5e12 links) and a
signature in 8, the first 8 bytes of an HMAC-SHA256 of the kind and id, with a key derived
from ``SECRET_KEY`` (Django's ``salted_hmac``, salt ``hub.tracking``), reduced to 8 base62
characters (about 47 bits). So ``{HUB_BASE_URL}/l/`` + 15 characters: 37 characters on
``https://hub.example.com``. A token names its kind: a pixel's token is no link's.
"""

from __future__ import annotations

import hmac
import string

from django.conf import settings
from django.utils.crypto import salted_hmac

from templates_app.sms import TRACKED_TOKEN_LENGTH

ALPHABET = string.digits + string.ascii_letters
_INDEX = {c: i for i, c in enumerate(ALPHABET)}
ID_LENGTH = 7
SIGNATURE_LENGTH = TRACKED_TOKEN_LENGTH - ID_LENGTH
SALT = "hub.tracking"


def _encode(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        chars.append(ALPHABET[digit])
    return "".join(reversed(chars))


def _decode(text: str) -> int | None:
    number = 0
    for char in text:
        digit = _INDEX.get(char)
        if digit is None:
            return None
        number = number * 62 + digit
    return number


def _signature(kind: str, pk: int, secret: str | None = None) -> str:
    digest = salted_hmac(SALT, f"{kind}:{pk}", secret=secret, algorithm="sha256").digest()
    return _encode(int.from_bytes(digest[:8], "big") % 62**SIGNATURE_LENGTH, SIGNATURE_LENGTH)


def token_make(kind: str, pk: int) -> str:
    if not 0 < pk < 62**ID_LENGTH:
        raise ValueError("tracked link id out of range")
    return _encode(pk, ID_LENGTH) + _signature(kind, pk)


def token_read(kind: str, token: str) -> int | None:
    """The link id a token of this kind names, or None (malformed, truncated, forged)."""
    if len(token) != TRACKED_TOKEN_LENGTH:
        return None
    pk = _decode(token[:ID_LENGTH])
    if not pk or _decode(token[ID_LENGTH:]) is None:
        return None
    # Signed with SECRET_KEY, or with a key it replaced (SECRET_KEY_FALLBACKS), as Django's own
    # signing does: links in messages sent before a key rotation keep working while it is listed.
    secrets = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    if not any(hmac.compare_digest(token[ID_LENGTH:], _signature(kind, pk, secret)) for secret in secrets):
        return None
    return pk
