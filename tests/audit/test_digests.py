"""Address digests have keys of their own (HUB_DIGEST_KEYS), never SECRET_KEY."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from audit.digests import (
    DigestKey,
    address_digest,
    address_digest_keyed,
    address_digests,
    digest_keys_parse,
    legacy_digest_key,
)

OLD = "old:" + "o" * 40
NEW = "new:" + "n" * 40


def test_address_digest_hides_the_address():
    digest = address_digest("Ada@Example.com")
    assert digest == address_digest("ada@example.com ")
    assert "example" not in digest and len(digest) == 32


def test_a_new_secret_key_leaves_digests_unchanged(settings):
    before = address_digest("+447911123456")
    settings.SECRET_KEY = "a-completely-different-secret-key-0123456789-abcdef"
    assert address_digest("+447911123456") == before


def test_new_digests_use_the_newest_key_and_lookups_every_key(settings):
    settings.HUB_DIGEST_KEYS = digest_keys_parse(OLD)
    old = address_digest("+447911123456")
    settings.HUB_DIGEST_KEYS = digest_keys_parse(f"{NEW},{OLD}")
    keyed = address_digest_keyed("+447911123456")
    assert keyed.key_id == "new" and keyed.digest != old
    assert address_digests("+447911123456") == [keyed.digest, old]


def test_the_legacy_key_reproduces_digests_from_before_digest_keys(settings):
    """What audit.services.address_digest computed from SECRET_KEY until digest keys existed."""
    import hashlib
    import hmac

    secret = "the-secret-key-this-hub-had-before-the-upgrade-0123456789"
    before = hmac.new(f"audit-address:{secret}".encode(), b"+447911123456", hashlib.sha256).hexdigest()[:32]
    settings.HUB_DIGEST_KEYS = digest_keys_parse(f"{NEW},{legacy_digest_key(secret)}")
    assert address_digests("+447911123456")[1] == before


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("no-colon-here-" + "x" * 40, "must be id:secret"),
        ("bad id:" + "x" * 40, "must be id:secret"),
        ("short:tooshort", "at least 32"),
        (f"{OLD},{OLD}", "twice"),
    ],
)
def test_malformed_keys_are_refused_without_showing_a_secret(value, problem):
    with pytest.raises(ImproperlyConfigured, match=problem) as caught:
        digest_keys_parse(value)
    assert "x" * 20 not in str(caught.value) and "o" * 20 not in str(caught.value)


def test_keys_never_print_their_secret():
    (key,) = digest_keys_parse(OLD)
    assert key == DigestKey("old", "o" * 40)
    assert "o" * 10 not in repr(key)


def test_no_keys_means_no_digests(settings):
    settings.HUB_DIGEST_KEYS = ()
    with pytest.raises(ImproperlyConfigured, match="HUB_DIGEST_KEYS"):
        address_digest("+447911123456")
