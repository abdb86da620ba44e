"""Issue 16: a request reads every generation counter in one round trip (``MGET``), and a bump
made by the request itself is read again at once."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.signals import request_finished, request_started

from hub import generations
from hub.generations import generation, generation_bump_now
from tests.hub.test_generations import BODY, URL

pytestmark = pytest.mark.redis  # the counters live in Redis (REDIS_URL); without it there is no MGET


class Counting:
    """The cache, with the names of the calls made to it."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.real, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return method(*args, **kwargs)

        return counted


# What the cache's calls would send to the server (the rest, e.g. make_key, stay in the process).
CACHE_READS = {"get", "get_many", "has_key", "add", "incr", "set"}


class RedisCommands:
    """Every command sent to Redis by any client (Django's cache's, the hub's own), each as its
    name and arguments: one command is one round trip."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import redis

        self.sent: list[tuple[str, tuple[Any, ...]]] = []
        real = redis.Redis.execute_command

        def execute_command(client: Any, *args: Any, **options: Any) -> Any:
            self.sent.append((str(args[0]), args[1:]))
            return real(client, *args, **options)

        monkeypatch.setattr(redis.Redis, "execute_command", execute_command)

    def reading(self, fragment: bytes) -> list[str]:
        """The commands that named a key containing ``fragment``."""
        return [
            name
            for name, args in self.sent
            if any(
                fragment in (a.encode() if isinstance(a, str) else a)
                for a in args
                if isinstance(a, str | bytes)
            )
        ]


@pytest.mark.django_db
def test_an_accept_reads_the_counters_in_one_round_trip(authed_client, live_template, monkeypatch):
    assert authed_client.post(URL, BODY, format="json").status_code == 202  # caches and counters filled
    counting = Counting(getattr(generations, "cache"))  # noqa: B009 - not re-exported by name
    monkeypatch.setattr(generations, "cache", counting)
    commands = RedisCommands(monkeypatch)
    assert authed_client.post(URL, BODY, format="json").status_code == 202
    # The key, the template, the rules, the endpoints: one command to Redis itself (the request's
    # first, with the address's block and the key's rate token), none through the cache.
    assert commands.reading(b"sb:generation:") == ["EVALSHA"]
    assert commands.sent[0][0] == "EVALSHA"
    assert not CACHE_READS & set(counting.calls)


@pytest.mark.django_db
def test_a_request_sees_its_own_bump_at_once():
    request_started.send(sender=None)
    try:
        before = generation("test_read_once")
        assert before is not None and generation("test_read_once") == before
        generation_bump_now("test_read_once")
        assert generation("test_read_once") == before + 1
    finally:
        request_finished.send(sender=None)


def test_outside_a_request_every_read_asks_the_cache(monkeypatch):
    assert generations._request_counters.get() is None, "no request under way"
    generation("test_read_once")
    counting = Counting(getattr(generations, "cache"))  # noqa: B009 - not re-exported by name
    monkeypatch.setattr(generations, "cache", counting)
    generation("test_read_once")
    generation("test_read_once")
    assert counting.calls == ["get", "get"]
