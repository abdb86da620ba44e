"""Shared fixtures. In CI (HUB_REQUIRE_SERVICES=1) the run stops at once, with a non-zero
exit, if PostgreSQL, Redis or RabbitMQ cannot be reached: nothing is skipped silently."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from rest_framework.test import APIClient

from bench.fakes.server import FakeServer
from bench.fakes.twilio import start_fake_twilio
from hub.dbroles.grants import db_roles_apply
from hub.dbroles.owner import OWNER_ALIAS, roles_separated
from tests.chromium import SharedChromium
from tests.services import require_services

pytest_plugins = ["tests.logscan", "tests.factories", "tests.fake_servers", "tests.figures"]


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.environ.get("HUB_REQUIRE_SERVICES") == "1":
        # The owner connects first (the hub's role may not exist before the test database does).
        database = settings.DATABASES.get(OWNER_ALIAS, settings.DATABASES[DEFAULT_DB_ALIAS])
        problems = require_services(database, settings.CELERY_BROKER_URL, settings.REDIS_URL)
        if problems:
            pytest.exit("Required services are not reachable:\n  " + "\n  ".join(problems), returncode=3)


# --- Tests that need a server the embedded default lacks (markers postgres, redis) ------------
# A run without HUB_REQUIRE_SERVICES (a fresh clone: SQLite, no REDIS_URL) leaves them out and
# says so in one line at the end; CI (HUB_REQUIRE_SERVICES=1) runs every one of them, and the
# check above fails the run at once if PostgreSQL or Redis is absent.
_LEFT_OUT = pytest.StashKey[tuple[int, list[str]]]()  # how many, and which servers they need
_NEEDS = {
    "postgres": ("PostgreSQL", "DATABASE_URL=postgres://..."),
    "redis": ("Redis", "REDIS_URL=redis://..."),
}


def _servers_missing() -> list[str]:
    if os.environ.get("HUB_REQUIRE_SERVICES") == "1":
        return []
    missing = []
    if settings.DATABASES[DEFAULT_DB_ALIAS]["ENGINE"] != "django.db.backends.postgresql":
        missing.append("postgres")
    if not settings.REDIS_URL:
        missing.append("redis")
    return missing


@pytest.hookimpl(trylast=True)  # after -m, so that only tests it kept are counted
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing = _servers_missing()
    if not missing:
        return
    kept: list[pytest.Item] = []
    left_out: list[pytest.Item] = []
    needed: set[str] = set()
    for item in items:
        needs = {name for name in missing if item.get_closest_marker(name)}
        needed |= needs
        (left_out if needs else kept).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept
    config.stash[_LEFT_OUT] = (len(left_out), [name for name in _NEEDS if name in needed])
    workeroutput = getattr(config, "workeroutput", None)  # a pytest-xdist worker tells the controller
    if workeroutput is not None:
        workeroutput["servers_left_out"] = config.stash[_LEFT_OUT]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist's controller: every worker collected the same tests, so any one's count."""
    left_out = getattr(node, "workeroutput", {}).get("servers_left_out")
    if left_out is not None:
        count, needed = left_out
        node.config.stash[_LEFT_OUT] = (count, list(needed))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    count, needed = config.stash.get(_LEFT_OUT, (0, []))
    if not count:
        return
    servers = " or ".join(_NEEDS[name][0] for name in needed)
    urls = " and ".join(_NEEDS[name][1] for name in needed)
    terminalreporter.write_line(
        f"{count} tests need {servers} and were not run: set {urls} to run them.", yellow=True, bold=True
    )


# The credentials that differ between the hub's role and the schema owner.
_CREDENTIALS = ("USER", "PASSWORD", "OPTIONS")
# The hub's, kept while ``default`` connects as the owner to create the test database.
_HUB_CREDENTIALS: dict[str, Any] = {}


def _default_connects_as(source: dict[str, Any]) -> None:
    connections[DEFAULT_DB_ALIAS].close()
    connections[DEFAULT_DB_ALIAS].settings_dict.update({k: source.get(k) for k in _CREDENTIALS})


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """With two roles (MIGRATE_DATABASE_URL set, as in .ci/run) the test database is created
    and migrated as the owner: ``default`` carries the owner's credentials until then."""
    if roles_separated():
        _HUB_CREDENTIALS.update({k: settings.DATABASES[DEFAULT_DB_ALIAS].get(k) for k in _CREDENTIALS})
        _default_connects_as(settings.DATABASES[OWNER_ALIAS])


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Then the hub's role gets its grants on the test database and the tests run as it; the
    owner alias points at the test database too (flush and tamper helpers use it). At the end
    ``default`` is the owner again, to drop the test database."""
    if not roles_separated():
        yield
        return
    owner_settings = settings.DATABASES[OWNER_ALIAS]
    owner_settings["NAME"] = settings.DATABASES[DEFAULT_DB_ALIAS]["NAME"]
    _default_connects_as(_HUB_CREDENTIALS)
    with django_db_blocker.unblock():
        db_roles_apply(using=OWNER_ALIAS)
        connections[OWNER_ALIAS].close()
    yield
    connections[OWNER_ALIAS].close()
    _default_connects_as(owner_settings)


@pytest.fixture(autouse=True)
def _markers_known(request: pytest.FixtureRequest) -> Iterator[None]:
    """tests.worker refuses the real broker to a test not marked as using it (.ci/run's split)."""
    from tests import worker

    worker.current_markers = {marker.name for marker in request.node.iter_markers()}
    yield
    worker.current_markers = set()


@pytest.fixture(autouse=True)
def _generation_caches_cleared() -> Iterator[None]:
    """Each test starts with empty per-process caches (hub.generations): its database rows
    were rolled back, which bumps no generation."""
    from hub.generations import generation_caches_clear

    generation_caches_clear()
    yield
    generation_caches_clear()


@pytest.fixture(autouse=True)
def _no_lane_wake_left_over() -> None:
    """A lane's wake flag lives in Redis for up to HUB_DISPATCH_WAKE_TTL_SECONDS: one left by an
    earlier test (a drain published to a broker no worker read) would hold this test's wakes."""
    from hub.messaging.wakes import wake_flags_clear_all

    wake_flags_clear_all()


@pytest.fixture(scope="session")
def shared_chromium() -> Iterator[SharedChromium]:
    """One headless Chromium for the run's browser tests, started by the first that asks
    (tests/templates_app/admin/conftest.py: ``browser``)."""
    chromium = SharedChromium()
    yield chromium
    chromium.stop()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def fake_twilio() -> Iterator[FakeServer]:
    server = start_fake_twilio()
    yield server
    server.stop()


@pytest.fixture
def scraper(client: Any, settings: Any) -> Any:
    """The test client as a Prometheus scraper holding the metrics token (with DEBUG off, as in
    tests, /metrics needs one)."""
    from tests.metrics import TOKEN

    settings.HUB_METRICS_TOKEN = TOKEN
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {TOKEN}"
    return client
