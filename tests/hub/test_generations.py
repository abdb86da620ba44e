"""Per-process caches that stay true across processes (hub.generations): the API key and the
live template an accept reads are cached, yet a key revoked, or a version approved, by another
process is honoured by the very next request."""

from __future__ import annotations

import os
import sys

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hub.generations import generation
from tests.factories import ORDER_DATA
from tests.logscan import run_recorded
from tests.worker import database_url

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/v1/notifications"
BODY = {
    "template": "order.shipped",
    "to": {"phone": "+447911123456"},
    "channels": ["sms"],
    "data": ORDER_DATA,
}


def in_another_process(code: str) -> None:
    """Run ``code`` in a new Python process on the same database and cache server (with this
    test's cache key prefix, see tests/fake_servers.py)."""
    env = {**os.environ, "DATABASE_URL": database_url(), "DJANGO_SETTINGS_MODULE": "tests.settings"}
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    setup = f"from django.conf import settings\nsettings.CACHES['default']['KEY_PREFIX'] = {prefix!r}\n"
    done = run_recorded(
        [sys.executable, "manage.py", "shell", "-c", setup + code],
        env=env,
        cwd=settings.BASE_DIR,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def tables_read(captured: CaptureQueriesContext) -> str:
    return " ".join(q["sql"] for q in captured.captured_queries)


@pytest.mark.redis
def test_shared_cache_is_in_use():
    assert generation("apikeys") is not None, "the tests run with Redis (REDIS_URL), as CI does"


@pytest.mark.redis
def test_a_key_revoked_in_another_process_is_refused_at_once(authed_client, issued_key, live_template):
    assert authed_client.post(URL, BODY, format="json").status_code == 202
    with CaptureQueriesContext(connection) as captured:
        assert authed_client.post(URL, BODY, format="json").status_code == 202
    assert '"apikeys_apikey"."prefix" =' not in tables_read(captured)  # from this process's cache

    in_another_process(
        "from audit.services import Actor\n"
        "from hub.apikeys.models import ApiKey\n"
        "from hub.apikeys.services import apikey_revoke\n"
        f"apikey_revoke(api_key=ApiKey.objects.get(pk={issued_key.api_key.pk}), actor=Actor.system())\n"
    )

    refused = authed_client.post(URL, BODY, format="json")
    assert refused.status_code == 401
    assert refused.json()["code"] == "unauthenticated"


@pytest.mark.redis
def test_a_version_approved_in_another_process_is_sent_at_once(authed_client, live_template):
    first = authed_client.post(URL, BODY, format="json").json()
    assert first["template_version"] == 1
    with CaptureQueriesContext(connection) as captured:
        assert authed_client.post(URL, BODY, format="json").json()["template_version"] == 1
    assert '"templates_app_template"."key" IN' not in tables_read(captured)  # from this process's cache

    in_another_process(
        "from django.contrib.auth import get_user_model\n"
        "from templates_app.models import Template, TemplateVersion, VersionStatus\n"
        "from templates_app.services import template_draft_create, template_version_approve\n"
        "from tests.factories import declared_strings\n"
        "User = get_user_model()\n"
        "author, _ = User.objects.get_or_create(username='author-v2')\n"
        "approver, _ = User.objects.get_or_create(username='approver-v2')\n"
        "variants = [{'channel': 'sms', 'locale': 'en', 'text': 'v2: {{ first_name }} {{ order_number }}'}]\n"
        "version = template_draft_create(template=Template.objects.get(key='order.shipped'), author=author,"
        " variants=variants, variables=declared_strings(variants))\n"
        "TemplateVersion.objects.filter(pk=version.pk).update(status=VersionStatus.IN_REVIEW)\n"
        "template_version_approve(version=version, approver=approver)\n"
    )

    after = authed_client.post(URL, BODY, format="json").json()
    assert after["template_version"] == 2
