"""Settings come from the environment; production refuses unsafe defaults."""

from __future__ import annotations

import os
import subprocess
import sys

from django.conf import settings

from tests.logscan import run_recorded

BASE = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"}}


def load_settings(shown: str = "settings.ALLOWED_HOSTS", **env: str) -> subprocess.CompletedProcess[str]:
    """Load the settings in a fresh process under ``env`` (added to this one's, less DEBUG,
    SECRET_KEY and ALLOWED_HOSTS) and print ``shown``."""
    code = f"import django; django.setup(); from django.conf import settings; print({shown})"
    return run_recorded(
        [sys.executable, "-c", code],
        env={**BASE, "DJANGO_SETTINGS_MODULE": "hub.settings", **env},
        cwd=settings.BASE_DIR,
        timeout=60,
    )


def test_debug_off_refuses_missing_secret_key():
    result = load_settings(DEBUG="0", ALLOWED_HOSTS="hub.example")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_debug_off_refuses_the_development_secret_key():
    result = load_settings(DEBUG="0", SECRET_KEY=settings.DEV_SECRET_KEY, ALLOWED_HOSTS="hub.example")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_debug_off_refuses_empty_allowed_hosts():
    result = load_settings(DEBUG="0", SECRET_KEY="a-real-secret-value-for-this-test-0123456789")
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_debug_on_gets_development_defaults():
    result = load_settings(DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert "127.0.0.1" in result.stdout


def test_production_values_are_taken_from_the_environment():
    result = load_settings(
        DEBUG="0",
        SECRET_KEY="a-real-secret-value-for-this-test-0123456789",
        ALLOWED_HOSTS="hub.example,api.example",
    )
    assert result.returncode == 0, result.stderr
    assert "['hub.example', 'api.example']" in result.stdout


def test_secret_key_fallbacks_come_from_the_environment():
    """Old SECRET_KEY values stay accepted during a rotation (Notify-format keys depend on them)."""
    result = load_settings("settings.SECRET_KEY_FALLBACKS", DEBUG="1", SECRET_KEY_FALLBACKS="old-1, old-2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "['old-1', 'old-2']"
