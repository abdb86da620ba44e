"""Issue 16: what every API request costs before its view runs. The browser's middleware is
passed by on the API's paths (and still runs everywhere else), the usual content negotiation
is answered without parsing (and answers as DRF's does), and the bad-key check reads the
cache with the request's generation counters: one round trip."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIRequestFactory

from hub import generations
from hub.api import throttling
from hub.api.negotiation import JsonContentNegotiation
from tests.factories import make_staff_user
from tests.hub.test_generations_read_once import CACHE_READS, Counting, RedisCommands

TEMPLATES = "/api/v1/templates"


@pytest.fixture
def browser_middleware_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths the authentication and message middleware processed."""
    calls: list[str] = []
    for cls in (AuthenticationMiddleware, MessageMiddleware):
        real = cls.process_request

        def spy(self: Any, request: Any, real: Any = real, name: str = cls.__name__) -> Any:
            calls.append(f"{name} {request.path}")
            return real(self, request)

        monkeypatch.setattr(cls, "process_request", spy)
    return calls


@pytest.mark.django_db
def test_an_api_request_passes_the_browser_middleware_by(authed_client, browser_middleware_calls):
    response = authed_client.get(TEMPLATES)
    assert response.status_code == 200
    assert browser_middleware_calls == []
    # What every response carries, the API's included.
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["Content-Length"] == str(len(response.content))
    assert "Cookie" not in response.get("Vary", "")
    assert "Set-Cookie" not in response


@pytest.mark.django_db
def test_the_admin_keeps_every_middleware(client, browser_middleware_calls):
    client.force_login(make_staff_user("Operator"))
    response = client.get("/admin/")
    assert response.status_code == 200
    assert browser_middleware_calls == ["AuthenticationMiddleware /admin/", "MessageMiddleware /admin/"]
    assert response["X-Frame-Options"] == "DENY"
    assert "csrftoken" in response.cookies  # the admin's forms are CSRF-protected as before


@pytest.mark.django_db
def test_an_unknown_api_path_is_still_problem_json(authed_client):
    response = authed_client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(
    "accept",
    [
        None,
        "*/*",
        "application/json",
        "application/json; indent=4",
        "application/*",
        "text/html, application/json;q=0.9",
        "application/xml",
        "",
    ],
)
@pytest.mark.parametrize("query", ["", "format=json", "format=xml", "page=2"])
def test_negotiation_answers_as_drfs_own(accept, query):
    factory = APIRequestFactory()
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    renderers = [JSONRenderer()]

    def outcome(negotiation: DefaultContentNegotiation) -> Any:
        from rest_framework.request import Request

        request = Request(
            factory.get(f"/api/v1/templates?{query}" if query else "/api/v1/templates", **headers)
        )
        try:
            renderer, media_type = negotiation.select_renderer(request, renderers)
        except Exception as exc:  # noqa: BLE001 - the refusal is part of the answer compared
            return type(exc).__name__
        return renderer, media_type

    assert outcome(JsonContentNegotiation()) == outcome(DefaultContentNegotiation())


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "application/jsonx",
        "multipart/form-data",
    ],
)
def test_the_parser_is_chosen_as_drf_chooses_it(content_type):
    from rest_framework.parsers import BaseParser, FormParser, JSONParser, MultiPartParser
    from rest_framework.request import Request

    request = Request(APIRequestFactory().post("/api/v1/events", b"{}", content_type=content_type))
    choices: list[list[BaseParser]] = [
        [JSONParser()],
        [FormParser(), JSONParser()],
        [MultiPartParser(), JSONParser()],
        [],
    ]
    for parsers in choices:
        chosen = JsonContentNegotiation().select_parser(request, parsers)
        assert chosen is DefaultContentNegotiation().select_parser(request, parsers)


@pytest.mark.django_db
def test_an_accept_with_parameters_is_still_honoured(authed_client):
    response = authed_client.get(TEMPLATES, HTTP_ACCEPT="application/json; indent=4")
    assert response.status_code == 200 and b'\n    "' in response.content
    assert authed_client.get(TEMPLATES, HTTP_ACCEPT="application/xml").status_code == 406


@pytest.mark.redis
@pytest.mark.django_db
def test_the_bad_key_check_reads_with_the_counters(authed_client, live_template, monkeypatch):
    """One round trip for the address's block, the key's generation and its rate token, not
    three: a request to Redis itself, none through the cache."""
    assert authed_client.get(TEMPLATES).status_code == 200  # caches and counters filled
    counting = Counting(getattr(generations, "cache"))  # noqa: B009 - not re-exported by name
    monkeypatch.setattr(generations, "cache", counting)
    throttling_cache = Counting(getattr(throttling, "cache"))  # noqa: B009
    monkeypatch.setattr(throttling, "cache", throttling_cache)
    commands = RedisCommands(monkeypatch)
    assert authed_client.get(TEMPLATES).status_code == 200
    assert [name for name, _ in commands.sent] == ["EVALSHA"]
    assert (
        commands.reading(b"sb:badkey-blocked:") == commands.reading(b"sb:generation:apikeys") == ["EVALSHA"]
    )
    assert commands.reading(b"sb:bucket:apikey:") == ["EVALSHA"]
    assert not CACHE_READS & set(counting.calls)
    assert throttling_cache.calls == []


def test_a_changed_cache_setting_is_read_again(settings):
    assert generations._shared() == ("locmem" not in settings.CACHES["default"]["BACKEND"].lower())
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert generations._shared() is False


@pytest.mark.redis
def test_a_script_the_server_does_not_have_is_sent_whole(settings):
    """EVALSHA first; a server that lost the script (restarted, flushed) gets it by EVAL."""
    import uuid

    from hub.apikeys.ratelimit import _redis, _Script

    script = _Script(_redis(settings.REDIS_URL), f"-- {uuid.uuid4().hex}\nreturn ARGV[1]")
    assert script("unused", "first") == b"first"  # unknown to the server: sent whole
    assert script("unused", "again") == b"again"  # by its SHA1 now
