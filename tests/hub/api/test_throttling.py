"""Requests with an invalid API key are throttled per client address (429 problem+json with
Retry-After), so keys cannot be guessed quickly; requests with a valid key never use that
budget, and another address is not affected."""

from __future__ import annotations

import secrets

import pytest
from rest_framework.test import APIClient

NOTIFICATION = "/api/v1/notifications/00000000-0000-0000-0000-000000000000"
BAD_KEY_BURST = 20


@pytest.fixture(autouse=True)
def _production_budget(settings):
    settings.HUB_BAD_KEY_BURST = BAD_KEY_BURST
    settings.HUB_BAD_KEY_PER_MINUTE = 20


def _address() -> str:
    """A fresh client address per test: the budget lives in Redis, across test runs."""
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


def _guess(client: APIClient, address: str) -> int:
    client.credentials(HTTP_AUTHORIZATION=f"Bearer sb_{secrets.token_hex(6)}_{secrets.token_urlsafe(32)}")
    return client.get(NOTIFICATION, REMOTE_ADDR=address).status_code


@pytest.mark.django_db
def test_guessing_keys_from_one_address_is_throttled(api_client):
    address = _address()
    answers = [_guess(api_client, address) for _ in range(BAD_KEY_BURST + 5)]
    assert answers[:BAD_KEY_BURST] == [401] * BAD_KEY_BURST
    assert set(answers[BAD_KEY_BURST:]) == {429}
    response = api_client.get(NOTIFICATION, REMOTE_ADDR=address)
    assert response.status_code == 429
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 60
    # Another address still gets the plain 401.
    assert _guess(api_client, _address()) == 401


@pytest.mark.django_db
def test_a_malformed_authorization_header_counts_as_a_failure(api_client):
    address = _address()
    api_client.credentials(HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")
    answers = [
        api_client.get(NOTIFICATION, REMOTE_ADDR=address).status_code for _ in range(BAD_KEY_BURST + 1)
    ]
    assert answers[-1] == 429


@pytest.mark.django_db
def test_valid_keys_do_not_use_the_bad_key_budget(api_client, issued_key):
    address = _address()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued_key.raw}")
    for _ in range(BAD_KEY_BURST + 5):
        assert api_client.get(NOTIFICATION, REMOTE_ADDR=address).status_code == 404
    assert _guess(api_client, address) == 401


@pytest.mark.django_db
def test_a_key_in_use_from_a_throttled_address_keeps_working(api_client, issued_key):
    """A guesser behind the same NAT or proxy does not lock out the clients already there."""
    address = _address()
    known = APIClient()
    known.credentials(HTTP_AUTHORIZATION=f"Bearer {issued_key.raw}")
    assert known.get(NOTIFICATION, REMOTE_ADDR=address).status_code == 404
    while _guess(api_client, address) != 429:
        pass
    assert known.get(NOTIFICATION, REMOTE_ADDR=address).status_code == 404


def _guess_via(client: APIClient, remote: str, forwarded: str) -> int:
    client.credentials(HTTP_AUTHORIZATION=f"Bearer sb_{secrets.token_hex(6)}_{secrets.token_urlsafe(32)}")
    return client.get(NOTIFICATION, REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded).status_code


@pytest.mark.django_db
def test_an_x_forwarded_for_the_client_wrote_does_not_reset_its_budget(api_client):
    """With no proxy declared (HUB_NUM_PROXIES=0), the header is the client's own text: a guesser
    writing a new address in it each time is still one address (DRF's default would take it)."""
    address = _address()
    answers = [_guess_via(api_client, address, _address()) for _ in range(BAD_KEY_BURST + 5)]
    assert set(answers[BAD_KEY_BURST:]) == {429}


@pytest.mark.django_db
def test_behind_one_proxy_the_address_the_proxy_saw_is_the_clients(api_client, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy, guesser = _address(), _address()
    # The guesser writes a different first entry each time; the proxy appends the address it saw.
    answers = [_guess_via(api_client, proxy, f"{_address()}, {guesser}") for _ in range(BAD_KEY_BURST + 5)]
    assert set(answers[BAD_KEY_BURST:]) == {429}
    assert _guess_via(api_client, proxy, _address()) == 401  # another client behind the same proxy


@pytest.mark.django_db
def test_a_key_is_marked_known_once_not_on_every_request(api_client, issued_key, monkeypatch):
    """The mark is added once per process (re-added after ``KNOWN_KEY_ADDED_SECONDS``), not
    with a round trip to the cache on every request of a busy key."""
    from django.core.cache import cache

    from hub.api import throttling

    added: list[str] = []

    class Spy:
        def __getattr__(self, name: str):
            return getattr(cache, name)

        def add(self, key: str, *args, **kwargs):
            added.append(key)
            return cache.add(key, *args, **kwargs)

    monkeypatch.setattr(throttling, "cache", Spy())
    address = _address()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued_key.raw}")
    for _ in range(3):
        assert api_client.get(NOTIFICATION, REMOTE_ADDR=address).status_code == 404
    known = [key for key in added if key.startswith("sb:known-key:")]
    assert known == [f"sb:known-key:{address}:{issued_key.api_key.prefix}"]
    assert cache.get(known[0])
    throttling._known_added.clear()  # as once KNOWN_KEY_ADDED_SECONDS have passed
    assert api_client.get(NOTIFICATION, REMOTE_ADDR=address).status_code == 404
    assert len([key for key in added if key.startswith("sb:known-key:")]) == 2
