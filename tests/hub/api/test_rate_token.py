"""A key's rate token is taken in the request's first round trip to Redis, with the address's
block and the generation counters, where this process already holds the key: only while the
key is what authentication will find (its generation unchanged), never for a request its
scopes refuse or a secret that is not the key's, and as before wherever it cannot be."""

from __future__ import annotations

import secrets
import time
from typing import Any

import pytest
from rest_framework.test import APIClient

from audit.services import Actor
from hub.apikeys.models import ApiKey
from hub.apikeys.services import apikey_create, apikey_revoke, apikey_update
from tests.factories import key_client
from tests.hub.test_generations_read_once import RedisCommands

pytestmark = [pytest.mark.redis, pytest.mark.django_db]

TEMPLATES = "/api/v1/templates"
NOTIFICATIONS = "/api/v1/notifications"


def limited_key(*, burst: int, scopes: list[str] | None = None) -> tuple[APIClient, ApiKey, str]:
    """A key of ``burst`` tokens refilled one a minute (none within a test), its client, its secret."""
    issued = apikey_create(name=f"limited-{secrets.token_hex(3)}", scopes=scopes)
    ApiKey.objects.filter(pk=issued.api_key.pk).update(rate_limit_burst=burst, rate_limit_per_minute=1)
    return key_client(issued), issued.api_key, issued.raw


def test_a_held_key_spends_one_token_a_request_in_one_round_trip(monkeypatch):
    client, _, _ = limited_key(burst=3)
    assert client.get(TEMPLATES).status_code == 200  # this process now holds the key
    commands = RedisCommands(monkeypatch)
    assert client.get(TEMPLATES).status_code == 200
    assert [name for name, _ in commands.sent] == ["EVALSHA"]
    assert client.get(TEMPLATES).status_code == 200
    refused = client.get(TEMPLATES)
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 60


def test_a_request_the_scopes_refuse_spends_no_token():
    client, _, _ = limited_key(burst=2, scopes=["read"])
    assert client.get(TEMPLATES).status_code == 200
    for _ in range(3):
        assert client.post(NOTIFICATIONS, {}, format="json").status_code == 403
    assert client.get(TEMPLATES).status_code == 200  # the second token was still there
    assert client.get(TEMPLATES).status_code == 429


def test_a_wrong_secret_with_a_keys_prefix_spends_none_of_its_tokens():
    client, api_key, _ = limited_key(burst=2)
    assert client.get(TEMPLATES).status_code == 200
    guesser = APIClient()
    guesser.credentials(HTTP_AUTHORIZATION=f"Bearer sb_{api_key.prefix}_{secrets.token_urlsafe(32)}")
    for _ in range(3):
        assert guesser.get(TEMPLATES).status_code == 401
    assert client.get(TEMPLATES).status_code == 200
    assert client.get(TEMPLATES).status_code == 429


def test_a_changed_key_is_limited_by_its_new_rate_at_once():
    """The token is taken only while the key's generation is the one this process holds it
    under: an edit in between makes the throttle take it with the key as it is now."""
    client, api_key, _ = limited_key(burst=2)
    assert client.get(TEMPLATES).status_code == 200
    assert client.get(TEMPLATES).status_code == 200
    api_key.refresh_from_db()
    api_key.rate_limit_per_minute = 600_000  # 10,000 a second: the bucket is full again at once
    apikey_update(api_key=api_key, actor=Actor.system())
    time.sleep(0.01)
    for _ in range(2):
        assert client.get(TEMPLATES).status_code == 200


def test_a_revoked_key_is_refused_at_once_and_spends_nothing():
    client, api_key, _ = limited_key(burst=2)
    assert client.get(TEMPLATES).status_code == 200
    apikey_revoke(api_key=api_key, actor=Actor.system())
    refused = client.get(TEMPLATES)
    assert refused.status_code == 401
    assert refused.json()["code"] == "unauthenticated"
    # Back in service (as a restore would put it): its second token is still there.
    ApiKey.objects.filter(pk=api_key.pk).update(revoked_at=None)
    from hub.generations import generation_bump_now

    generation_bump_now("apikeys")
    assert client.get(TEMPLATES).status_code == 200
    assert client.get(TEMPLATES).status_code == 429


def _address() -> str:
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


def _blocked(settings, address: str) -> None:
    """Guess keys from ``address`` until it is blocked."""
    settings.HUB_BAD_KEY_BURST = 2
    settings.HUB_BAD_KEY_PER_MINUTE = 1
    guesser = APIClient()
    answers = []
    for _ in range(4):
        guesser.credentials(
            HTTP_AUTHORIZATION=f"Bearer sb_{secrets.token_hex(6)}_{secrets.token_urlsafe(32)}"
        )
        answers.append(guesser.get(TEMPLATES, REMOTE_ADDR=address).status_code)
    assert answers[-1] == 429


def test_from_a_blocked_address_a_known_key_still_spends_one_token(settings):
    """While the address is blocked for bad keys, nothing is taken in the first round trip;
    the throttle takes the key's token as before (one a request, not two)."""
    address = _address()
    client, _, _ = limited_key(burst=3)
    assert client.get(TEMPLATES, REMOTE_ADDR=address).status_code == 200
    _blocked(settings, address)
    assert client.get(TEMPLATES, REMOTE_ADDR=address).status_code == 200
    assert client.get(TEMPLATES, REMOTE_ADDR=address).status_code == 200
    assert client.get(TEMPLATES, REMOTE_ADDR=address).status_code == 429


def test_a_request_the_block_refuses_spends_no_token(settings):
    """A key this process holds, sent from a blocked address it never authenticated from: 429
    for the address, and the key's tokens are untouched."""
    client, _, _ = limited_key(burst=2)
    assert client.get(TEMPLATES).status_code == 200
    blocked = _address()
    _blocked(settings, blocked)
    for _ in range(3):
        assert client.get(TEMPLATES, REMOTE_ADDR=blocked).status_code == 429
    assert client.get(TEMPLATES).status_code == 200
    assert client.get(TEMPLATES).status_code == 429


def test_with_redis_unreachable_a_request_fails_as_before(settings, authed_client):
    """Rate limits and the bad-key block cannot be checked: the request is not served (a 500
    problem, logged), as before the token was taken in the first round trip."""
    assert authed_client.get(TEMPLATES).status_code == 200  # this process now holds the key
    unreachable = "redis://127.0.0.1:9/0"  # the discard port: nothing listens
    settings.REDIS_URL = unreachable
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": unreachable}
    }
    response = authed_client.get(TEMPLATES)
    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "internal_error"


def test_only_views_that_check_scopes_then_the_key_rate_as_drf_does_take_early():
    """The early token stands for the throttle's only where nothing else may refuse the request
    between authentication and the throttle."""
    from rest_framework.permissions import AllowAny
    from rest_framework.views import APIView

    from hub.api.events import EventCreateView
    from hub.api.throttling import view_throttled_after_scopes
    from hub.api.views import NotificationCreateView

    class OwnPermissions(NotificationCreateView):
        def get_permissions(self) -> list[Any]:
            return []

    class OtherPermission(NotificationCreateView):
        permission_classes = [AllowAny]

    class NotThrottled(NotificationCreateView):
        throttle_classes = []

    assert view_throttled_after_scopes(NotificationCreateView) and view_throttled_after_scopes(
        EventCreateView
    )
    assert not any(
        view_throttled_after_scopes(v) for v in (OwnPermissions, OtherPermission, NotThrottled, object)
    )
    assert not view_throttled_after_scopes(type("Plain", (APIView,), {"throttle_classes": []}))
