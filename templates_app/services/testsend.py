"""'Send a test to me': a real send of a version, through the hub's pipeline.

``templates_app`` may not import ``hub``; the sending function is named by the setting
``TEMPLATES_TEST_SEND_FUNCTION`` (a dotted path) and resolved when used.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.contrib.auth.models import User
from django.utils.module_loading import import_string

from templates_app.models import TemplateVersion


class TestSendFailed(Exception):
    """The test could not be sent (no address, refused by the hub...); the message says why."""


def template_version_test_send(
    *, version: TemplateVersion, user: User, channels: Sequence[str], phone: str = ""
) -> str:
    """Send ``version`` rendered with its example values to ``user`` (their own email, and the
    phone they give) on ``channels``; returns the notification id. Raises TestSendFailed."""
    dotted = getattr(settings, "TEMPLATES_TEST_SEND_FUNCTION", "")
    if not dotted:
        raise TestSendFailed("Test sends are not configured (TEMPLATES_TEST_SEND_FUNCTION).")
    send = import_string(dotted)
    return str(send(version=version, user=user, channels=list(channels), phone=phone))
