"""The provider registry: what a worker's main process loads before it forks its pool."""

from __future__ import annotations

import os
import subprocess
import sys

from django.conf import settings

SDK_RESOURCES = "twilio.rest.api.v2010.account"

PRELOAD = f"""
import sys, django
django.setup()
from django.conf import settings
from hub.providers.registry import backends_preload
settings.HUB_PROVIDERS = {{
    "sms": [{{"NAME": "twilio", "BACKEND": "hub.providers.twilio.TwilioSmsProvider"}}],
    "push": [{{"NAME": "gone", "BACKEND": "hub.providers.no_such_module.Provider"}}],
}}
before = {SDK_RESOURCES!r} in sys.modules
backends_preload()
print(before, "hub.providers.twilio" in sys.modules, {SDK_RESOURCES!r} in sys.modules)
"""


def test_preload_imports_configured_backends_and_their_sdk_resources():
    # A fresh interpreter, as a worker's main process is before it forks: the provider module
    # and the SDK's REST resources (which the SDK itself loads only at the first send) are
    # imported; a backend that does not import is skipped, left for its first use to report.
    out = subprocess.run(  # noqa: S603 - our own argv
        [sys.executable, "-c", PRELOAD],
        capture_output=True,
        text=True,
        check=True,
        cwd=settings.BASE_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": os.environ["DJANGO_SETTINGS_MODULE"]},
        timeout=120,
    )
    assert out.stdout.split() == ["False", "True", "True"]
