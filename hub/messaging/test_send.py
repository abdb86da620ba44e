"""Test sends of a template version to the staff member writing it, through the real pipeline.

Called by ``templates_app`` through the ``TEMPLATES_TEST_SEND_FUNCTION`` setting. The
notification carries a ``reference`` starting ``template-test:`` so it is easy to tell apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from hub.contacts.validation import normalise_phone
from hub.messaging.accept import NotificationRejected, NotificationRequest, notification_accept
from hub.messaging.models import Routing
from templates_app.models import TemplateVersion
from templates_app.rendering.validation import version_variables
from templates_app.rendering.variables import example_data
from templates_app.services import TestSendFailed

TEST_REFERENCE_PREFIX = "template-test:"


def template_test_send(
    *, version: TemplateVersion, user: User, channels: Sequence[str], phone: str = ""
) -> str:
    """Accept a notification of ``version`` (live or not) with its example data, to ``user``'s
    own email and the given phone; returns its id. Raises TestSendFailed naming the problem."""
    to: dict[str, Any] = {}
    if "email" in channels:
        email = str(getattr(user, "email", "") or "")
        if not email:
            raise TestSendFailed("Your user has no email address; ask an administrator to add it.")
        to["email"] = email
    if "sms" in channels:
        try:
            to["phone"] = normalise_phone(phone)
        except ValidationError as exc:
            raise TestSendFailed(f"Phone number: {' '.join(exc.messages)}") from exc
    if not to:
        raise TestSendFailed("Choose email or SMS for the test.")
    request = NotificationRequest(
        template=version.template.key,
        to=to,
        data=example_data(version_variables(version)),
        channels=[c for c in channels if c in ("email", "sms")],
        routing=Routing.ALL,
        reference=f"{TEST_REFERENCE_PREFIX}{version} by user {user.pk}",
    )
    try:
        notification = notification_accept(request=request, api_key=None, version=version)
    except NotificationRejected as exc:
        raise TestSendFailed(exc.detail) from exc
    return str(notification.id)
