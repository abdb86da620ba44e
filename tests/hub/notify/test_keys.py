"""Notify-format keys and Notify's JWT authentication on /v2/: the key's shape, the token
checks and Notify's 401/403 bodies, and our scopes, rate limits and quota in Notify's 429."""

from __future__ import annotations

import math
import re
import time
from io import StringIO
from types import SimpleNamespace

import jwt
import pytest
from django.core.management import call_command
from django.utils import timezone

from audit.services import Actor
from hub.apikeys.models import ApiKey
from hub.apikeys.services import apikey_create, apikey_revoke
from hub.notify.keys import notify_key_authenticate
from hub.notify.models import KeyType, NotifyKey
from tests.hub.notify.conftest import secret_of, service_of, signed

UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
URL = "/v2/templates"


@pytest.fixture
def hub_clock(monkeypatch: pytest.MonkeyPatch) -> float:
    """The instant the hub's key check reads as now, held still: on a loaded machine a request
    took over two seconds to reach the check, and a token 29 s old was 31 s old there (CI)."""
    now = time.time()
    monkeypatch.setattr("hub.notify.keys.time", SimpleNamespace(time=lambda: now))
    return now


def token(raw: str, *, iat: float | None = None, alg: str = "HS256", **claims: object) -> str:
    now = time.time()
    # A whole second, rounded away from the 30 s limit, so that the second a slow request takes
    # to reach the server cannot carry a time across it: away from now beyond 30 s (truncating a
    # time 31 s ahead made it 30.x, read as 30, "within"), towards now within (flooring a time
    # 29 s ago made it 29.x s old, and a request crossing a second read it as 30: CI, once each).
    if iat is None:
        whole = int(now)
    elif abs(iat - now) >= 30:
        whole = math.ceil(iat) if iat > now else math.floor(iat)
    else:
        whole = math.floor(iat) if iat > now else math.ceil(iat)
    payload = {"iss": service_of(raw), "iat": whole, **claims}
    return "Bearer " + jwt.encode(
        payload, secret_of(raw) + ("x" * 32 if alg != "HS256" else ""), algorithm=alg
    )


def auth_error(response, status: int) -> str:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["status_code"] == status
    assert [e["error"] for e in body["errors"]] == ["AuthError"]
    return str(body["errors"][0]["message"])


@pytest.mark.django_db
class TestKeyFormat:
    def test_createapikey_notify_prints_a_key_in_notifys_format(self) -> None:
        out, err = StringIO(), StringIO()
        call_command("createapikey", "Cards service", "--notify", stdout=out, stderr=err)
        raw = out.getvalue().strip()
        assert re.fullmatch(f"cards_service-{UUID}-{UUID}", raw), raw
        notify_key = NotifyKey.objects.get()
        assert str(notify_key.service_id) == service_of(raw)
        assert notify_key.key_type == KeyType.NORMAL
        # Nothing of the secret is stored.
        stored = " ".join(str(v) for v in ApiKey.objects.values_list().get())
        assert secret_of(raw) not in stored
        assert secret_of(raw) not in " ".join(str(v) for v in NotifyKey.objects.values_list().get())

    def test_test_key_is_a_sandbox_key_and_joins_a_service(self) -> None:
        out = StringIO()
        call_command("createapikey", "live", "--notify", stdout=out, stderr=StringIO())
        service = service_of(out.getvalue().strip())
        out = StringIO()
        call_command(
            "createapikey", "tests", "--notify", "--key-type", "test", "--service-id", service,
            stdout=out, stderr=StringIO(),
        )  # fmt: skip
        test_key = NotifyKey.objects.get(key_type=KeyType.TEST)
        assert str(test_key.service_id) == service
        assert test_key.api_key.is_test

    def test_a_bad_scope_creates_nothing(self) -> None:
        from django.core.management.base import CommandError

        with pytest.raises(CommandError, match="Unknown scope 'bogus'"):
            call_command(
                "createapikey", "x", "--notify", "--scope", "bogus", stdout=StringIO(), stderr=StringIO()
            )
        assert not ApiKey.objects.exists()
        assert not NotifyKey.objects.exists()

    def test_key_type_without_notify_is_refused(self) -> None:
        from django.core.management.base import CommandError

        with pytest.raises(CommandError):
            call_command("createapikey", "x", "--key-type", "test", stdout=StringIO(), stderr=StringIO())
        assert not ApiKey.objects.exists()


@pytest.mark.django_db
class TestJwt:
    def test_the_clients_own_token_is_accepted(self, api_client, notify_key) -> None:
        response = api_client.get(URL, HTTP_AUTHORIZATION=signed(notify_key.raw))
        assert response.status_code == 200, response.content

    def test_no_header(self, api_client) -> None:
        message = auth_error(api_client.get(URL), 401)
        assert message == "Unauthorized: authentication token must be provided"

    def test_not_bearer(self, api_client, notify_key) -> None:
        response = api_client.get(URL, HTTP_AUTHORIZATION="Basic abc")
        assert auth_error(response, 401) == "Unauthorized: authentication bearer scheme must be used"

    @pytest.mark.parametrize("skew", [-31, 31, -3600])
    def test_clock_skew_beyond_30_seconds(self, api_client, notify_key, hub_clock, skew) -> None:
        response = api_client.get(URL, HTTP_AUTHORIZATION=token(notify_key.raw, iat=hub_clock + skew))
        assert auth_error(response, 403) == "Error: Your system clock must be accurate to within 30 seconds"

    @pytest.mark.parametrize("skew", [-29, 29])
    def test_clock_skew_within_30_seconds(self, api_client, notify_key, hub_clock, skew) -> None:
        response = api_client.get(URL, HTTP_AUTHORIZATION=token(notify_key.raw, iat=hub_clock + skew))
        assert response.status_code == 200, response.content

    def test_wrong_secret(self, api_client, notify_key) -> None:
        forged = notify_key.raw[:-36] + "00000000-0000-4000-8000-000000000000"
        assert auth_error(api_client.get(URL, HTTP_AUTHORIZATION=signed(forged)), 403) == (
            "Invalid token: API key not found"
        )

    def test_unknown_service(self, api_client, notify_key) -> None:
        other = f"x-{'11111111-1111-4111-8111-111111111111'}-{secret_of(notify_key.raw)}"
        assert auth_error(api_client.get(URL, HTTP_AUTHORIZATION=signed(other)), 403) == (
            "Invalid token: service not found"
        )

    def test_iss_not_a_uuid(self, api_client, notify_key) -> None:
        bad = "Bearer " + jwt.encode({"iss": "cards", "iat": int(time.time())}, "s" * 32, algorithm="HS256")
        assert auth_error(api_client.get(URL, HTTP_AUTHORIZATION=bad), 403) == (
            "Invalid token: service id is not the right data type"
        )

    def test_no_iss(self, api_client) -> None:
        bad = "Bearer " + jwt.encode({"iat": int(time.time())}, "s" * 32, algorithm="HS256")
        assert (
            auth_error(api_client.get(URL, HTTP_AUTHORIZATION=bad), 403)
            == "Invalid token: iss field not provided"
        )

    def test_no_iat(self, api_client, notify_key) -> None:
        bad = "Bearer " + jwt.encode(
            {"iss": service_of(notify_key.raw)}, secret_of(notify_key.raw), algorithm="HS256"
        )
        assert (
            auth_error(api_client.get(URL, HTTP_AUTHORIZATION=bad), 403)
            == "Invalid token: iat field not provided"
        )

    def test_other_algorithm(self, api_client, notify_key) -> None:
        response = api_client.get(URL, HTTP_AUTHORIZATION=token(notify_key.raw, alg="HS512"))
        assert auth_error(response, 403) == "Invalid token: algorithm used is not HS256"

    def test_garbage_token(self, api_client) -> None:
        message = auth_error(api_client.get(URL, HTTP_AUTHORIZATION="Bearer not-a-jwt"), 403)
        assert message.startswith("Invalid token: make sure your API token matches the example")

    def test_a_switchboard_key_is_not_a_token(self, api_client) -> None:
        ours = apikey_create(name="v1")
        assert auth_error(api_client.get(URL, HTTP_AUTHORIZATION=f"Bearer {ours.raw}"), 403).startswith(
            "Invalid token"
        )

    def test_revoked_key(self, api_client, notify_key) -> None:
        apikey_revoke(api_key=notify_key.notify_key.api_key, actor=Actor.system())
        assert auth_error(api_client.get(URL, HTTP_AUTHORIZATION=signed(notify_key.raw)), 403) == (
            "Invalid token: API key revoked"
        )

    def test_each_key_of_a_service_signs_for_itself(self, notify_key, notify_key_factory) -> None:
        second = notify_key_factory(name="second", service_id=notify_key.notify_key.service_id)
        for issued in (notify_key, second):
            found = notify_key_authenticate(token=signed(issued.raw)[7:])
            assert found == issued.notify_key

    def test_old_secret_key_keeps_working_from_fallbacks(self, api_client, notify_key, settings) -> None:
        """Rotating SECRET_KEY with the old one in SECRET_KEY_FALLBACKS keeps Notify keys valid."""
        settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
        settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40
        assert api_client.get(URL, HTTP_AUTHORIZATION=signed(notify_key.raw)).status_code == 200
        settings.SECRET_KEY_FALLBACKS = []
        assert auth_error(api_client.get(URL, HTTP_AUTHORIZATION=signed(notify_key.raw)), 403) == (
            "Invalid token: API key not found"
        )

    def test_last_used_is_recorded(self, api_client, notify_key) -> None:
        api_client.get(URL, HTTP_AUTHORIZATION=signed(notify_key.raw))
        notify_key.notify_key.api_key.refresh_from_db()
        assert notify_key.notify_key.api_key.last_used_at is not None
        assert notify_key.notify_key.api_key.last_used_at <= timezone.now()


@pytest.mark.django_db
class TestLimits:
    def test_rate_limit_is_notifys_429(self, notify_client, notify_key) -> None:
        ApiKey.objects.filter(pk=notify_key.notify_key.api_key.pk).update(
            rate_limit_burst=1, rate_limit_per_minute=1
        )
        assert notify_client.get(URL).status_code == 200
        response = notify_client.get(URL)
        assert response.status_code == 429
        assert response.json() == {
            "status_code": 429,
            "errors": [
                {
                    "error": "RateLimitError",
                    "message": "Exceeded rate limit for key type NORMAL of 1 requests per 60 seconds",
                }
            ],
        }
        assert int(response["Retry-After"]) >= 1

    def test_a_read_only_key_may_not_send(self, api_client, notify_key_factory) -> None:
        issued = notify_key_factory(name="reader", scopes=["read"])
        response = api_client.post(
            "/v2/notifications/sms",
            {"phone_number": "+447911123456", "template_id": "11111111-1111-4111-8111-111111111111"},
            format="json",
            HTTP_AUTHORIZATION=signed(issued.raw),
        )
        assert "lacks the 'send' scope" in auth_error(response, 403)

    def test_received_texts_need_contacts_read(self, api_client, notify_key_factory) -> None:
        issued = notify_key_factory(name="sender", scopes=["send"])
        response = api_client.get("/v2/received-text-messages", HTTP_AUTHORIZATION=signed(issued.raw))
        assert "contacts:read" in auth_error(response, 403)
