"""Tracked-link tokens: short, signed, of one kind."""

from __future__ import annotations

from hub.tracking.tokens import token_make, token_read
from templates_app.sms import TRACKED_TOKEN_LENGTH


def test_a_token_is_fifteen_characters_and_reads_back_its_id():
    token = token_make("link", 12345)
    assert len(token) == TRACKED_TOKEN_LENGTH == 15
    assert token.isalnum()
    assert token_read("link", token) == 12345


def test_forged_truncated_and_other_kind_tokens_read_as_nothing():
    token = token_make("link", 12345)
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert token_read("link", forged) is None
    assert token_read("link", token[:-1]) is None
    assert token_read("link", token + "x") is None
    assert token_read("open", token) is None  # a link's token is no pixel's
    other = token_make("link", 12346)
    # Another link's id with this link's signature (a token for another message).
    assert token_read("link", other[:7] + token[7:]) is None
    assert token_read("link", "../../etc/pass") is None
    assert token_read("link", "") is None


def test_a_different_secret_key_refuses_the_token(settings):
    token = token_make("link", 99)
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789"
    assert token_read("link", token) is None


def test_links_sent_before_a_key_rotation_keep_working_while_the_old_key_is_a_fallback(settings):
    """As Django's own signing (unsubscribe links): the old key in SECRET_KEY_FALLBACKS keeps the
    links of messages already sent working; new tokens are made with the new key only."""
    old = settings.SECRET_KEY
    token = token_make("link", 99)
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789"
    settings.SECRET_KEY_FALLBACKS = [old]
    assert token_read("link", token) == 99
    assert token_read("open", token) is None
    assert token_make("link", 99) != token
    settings.SECRET_KEY_FALLBACKS = []
    assert token_read("link", token) is None
