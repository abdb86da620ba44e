"""Keyed digests of addresses: suppressions, erased addresses and audit payloads hold these,
never the address, so equal addresses match but nobody can read one back.

The keys are the hub's own (``HUB_DIGEST_KEYS``, newest first), not ``SECRET_KEY``: rotating
``SECRET_KEY`` (sessions, signed links) must never make an opt-out or an erasure invisible.
New digests use the newest key; lookups try every configured key, so adding a key in front
keeps finding what older keys wrote. Each stored digest records the id of its key, which is
how the hub knows which keys may not be dropped yet (``hub.contacts.checks``) and which rows
a re-digest can move (``manage.py digests_rekey``). See docs/security/digest-keys.md.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# An id is stored next to each digest: short and plain, so it reads well in admin and exports.
KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
# A secret shorter than this is guessable enough to test every phone number of a country.
MIN_SECRET_LENGTH = 32
# The key a development hub (DEBUG on) uses when HUB_DIGEST_KEYS is unset; refused otherwise.
DEV_DIGEST_KEY_ID = "dev"
DEV_DIGEST_KEYS = f"{DEV_DIGEST_KEY_ID}:dev-insecure-switchboard-digest-key-do-not-use"
# Digests made before HUB_DIGEST_KEYS existed were keyed with "audit-address:" + SECRET_KEY;
# the migration that added key ids marks those rows with this id.
LEGACY_DIGEST_KEY_ID = "legacy"


def legacy_digest_key(secret_key: str) -> str:
    """The HUB_DIGEST_KEYS entry that finds digests made before digest keys existed, when
    ``secret_key`` was the SECRET_KEY of that time."""
    return f"{LEGACY_DIGEST_KEY_ID}:audit-address:{secret_key}"


@dataclass(frozen=True)
class DigestKey:
    id: str
    secret: str = ""

    def __repr__(self) -> str:  # never print the secret (settings dumps, tracebacks)
        return f"DigestKey({self.id!r})"


@dataclass(frozen=True)
class AddressDigest:
    """A digest and the id of the key that made it."""

    key_id: str
    digest: str


def digest_keys_parse(value: str) -> tuple[DigestKey, ...]:
    """``"id:secret,id:secret"`` (newest first) as keys. A secret may hold ``:`` but not ``,``.
    Raises ImproperlyConfigured, naming the problem but never a secret, when malformed."""
    keys: list[DigestKey] = []
    for position, item in enumerate((part.strip() for part in value.split(",") if part.strip()), 1):
        key_id, sep, secret = item.partition(":")
        if not sep or not KEY_ID.match(key_id):
            raise ImproperlyConfigured(
                f"HUB_DIGEST_KEYS entry {position} must be id:secret, the id 1-32 of A-Z a-z 0-9 _ . -"
            )
        if len(secret) < MIN_SECRET_LENGTH:
            raise ImproperlyConfigured(
                f"HUB_DIGEST_KEYS key {key_id!r}: the secret must be at least {MIN_SECRET_LENGTH} characters"
            )
        if any(k.id == key_id for k in keys):
            raise ImproperlyConfigured(f"HUB_DIGEST_KEYS names key {key_id!r} twice")
        keys.append(DigestKey(key_id, secret))
    return tuple(keys)


def digest_keys() -> tuple[DigestKey, ...]:
    """The configured keys, newest first. Raises ImproperlyConfigured when there are none (the
    system check refuses to start such a hub; this keeps a process that skipped it from
    writing digests nobody could find again)."""
    keys: tuple[DigestKey, ...] = settings.HUB_DIGEST_KEYS
    if not keys:
        raise ImproperlyConfigured("HUB_DIGEST_KEYS is not set (see docs/security/digest-keys.md)")
    return keys


def _digest(key: DigestKey, address: str) -> str:
    # hmac.digest: the one-shot (C) form of hmac.new(...).digest(), the same bytes.
    return hmac.digest(key.secret.encode(), address.strip().lower().encode(), "sha256").hex()[:32]


def address_digest_keyed(address: str) -> AddressDigest:
    """The digest to store for an address: under the newest key, with that key's id."""
    key = digest_keys()[0]
    return AddressDigest(key.id, _digest(key, address))


def address_digest(address: str) -> str:
    """The digest of an address under the newest key (case and surrounding space ignored)."""
    return address_digest_keyed(address).digest


def address_digests(address: str) -> list[str]:
    """The address's digest under every configured key, newest first: what a lookup matches."""
    return [_digest(key, address) for key in digest_keys()]


def digest_key_id() -> str:
    """The id of the newest key, recorded beside digests written into audit payloads."""
    return digest_keys()[0].id
