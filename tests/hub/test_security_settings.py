"""Issue 14 point 9: with DEBUG off the hub's defaults are the safe ones.

Module-level settings matter here, so each case loads the real settings (hub.settings) in a
subprocess with a production-like environment and asks Django's own test client.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence

from django.conf import settings

from tests.logscan import run_recorded

# Nothing from the test settings' environment that these cases set themselves.
OWN = {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "HUB_HTTPS_ONLY", "HUB_BEHIND_PROXY", "HUB_DIGEST_KEYS"}
BASE = {k: v for k, v in os.environ.items() if k not in OWN and k != "HUB_METRICS_TOKEN"}
PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "hub.settings",
    "DEBUG": "0",
    "SECRET_KEY": "a-real-secret-value-for-this-test-0123456789-abcdefghijklmnopqrstuvwxyz",
    "ALLOWED_HOSTS": "hub.example",
    "HUB_DIGEST_KEYS": "prod1:" + "p" * 40,
    "HUB_METRICS_TOKEN": "scrape-token-for-this-test",
}

# Requests made by Django's test client inside the subprocess; prints what came back.
PROBE = """
import json, sys
import django
django.setup()
from django.test import Client
out = {}
for name, path, headers in json.loads(sys.argv[1]):
    r = Client().get(path, HTTP_HOST="hub.example", **headers)
    out[name] = {"status": r.status_code, "location": r.get("Location", ""),
                 "hsts": r.get("Strict-Transport-Security", ""),
                 "cookies_secure": [bool(m["secure"]) for m in r.cookies.values()]}
print(json.dumps(out))
"""


def run(code: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return run_recorded(
        [sys.executable, *code], env={**BASE, **PRODUCTION, **env}, cwd=settings.BASE_DIR, timeout=120
    )


def probe(
    requests: Sequence[tuple[str, str, Mapping[str, object]]], **env: str
) -> dict[str, dict[str, object]]:
    result = run(["-c", PROBE, json.dumps(requests)], **env)
    assert result.returncode == 0, result.stderr
    answers: dict[str, dict[str, object]] = json.loads(result.stdout.strip().splitlines()[-1])
    return answers


def test_plain_http_is_redirected_and_https_gets_hsts_and_secure_cookies():
    answers = probe(
        [
            ("http", "/admin/login/", {}),
            ("https", "/admin/login/", {"secure": True}),
            ("healthz", "/healthz", {}),
        ]
    )
    assert answers["http"]["status"] == 301
    assert str(answers["http"]["location"]).startswith("https://hub.example/")
    assert answers["https"]["status"] == 200
    assert "max-age=31536000" in str(answers["https"]["hsts"])
    assert answers["https"]["cookies_secure"] == [True]  # the CSRF cookie of the login form
    # A load balancer's plain-HTTP health check is not redirected.
    assert answers["healthz"]["status"] == 200


def test_x_forwarded_proto_is_ignored_unless_a_proxy_is_declared():
    forwarded = [("forwarded", "/admin/login/", {"HTTP_X_FORWARDED_PROTO": "https"})]
    assert probe(forwarded)["forwarded"]["status"] == 301
    behind = probe(forwarded, HUB_BEHIND_PROXY="1")["forwarded"]
    assert behind["status"] == 200
    assert "max-age" in str(behind["hsts"])


def test_https_only_off_serves_plain_http_for_a_test_deployment():
    answers = probe([("http", "/admin/login/", {})], HUB_HTTPS_ONLY="0")
    assert answers["http"]["status"] == 200
    assert answers["http"]["hsts"] == ""


def test_check_deploy_is_clean_with_a_production_like_environment():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_names_what_a_plain_http_deployment_gives_up():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], HUB_HTTPS_ONLY="0")
    assert result.returncode != 0
    assert "security.W004" in result.stderr  # no HSTS
    assert "security.W012" in result.stderr  # session cookie not secure


def test_a_production_hub_without_digest_keys_fails_its_checks():
    result = run(["manage.py", "check"], HUB_DIGEST_KEYS="")
    assert result.returncode != 0
    assert "hub.E001" in result.stderr


def test_a_malformed_digest_key_stops_the_settings_without_showing_the_secret():
    result = run(["manage.py", "check"], HUB_DIGEST_KEYS="k1:short-secret-value")
    assert result.returncode != 0
    assert "at least 32 characters" in result.stderr
    assert "short-secret-value" not in result.stderr
