"""Staff test sends of a template version, and the one-time codes that prove a staff member's
test address is theirs.

Called by ``templates_app`` through the ``TEMPLATES_TEST_SEND_FUNCTION`` and
``TEMPLATES_STAFF_CODE_FUNCTION`` settings. A test notification carries a ``reference``
starting ``template-test:`` so it is easy to tell apart.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from hub.contacts.validation import normalise_email, normalise_phone
from hub.messaging.intake import NotificationRejected, NotificationRequest, notification_accept
from hub.messaging.models import TEST_SEND_REFERENCE_PREFIX, BlockReason, Message, Routing
from hub.providers.base import OutboundMessage
from hub.providers.errors import ProviderError
from hub.providers.registry import provider_for
from templates_app.models import TemplateVersion
from templates_app.rendering.validation import version_variables
from templates_app.rendering.variables import example_data
from templates_app.services import StaffAddressError, TestSendFailed

TEST_REFERENCE_PREFIX = TEST_SEND_REFERENCE_PREFIX


def template_test_send(*, version: TemplateVersion, user: User, to: Mapping[str, str]) -> str:
    """Accept a notification of ``version`` (live or not) with its example data to ``to``
    (``phone`` and/or ``email``, already checked to be the user's verified addresses); returns
    its id. Raises TestSendFailed naming the problem."""
    request = NotificationRequest(
        template=version.template.key,
        to=dict(to),
        data=example_data(version_variables(version)),
        channels=[c for c, key in (("email", "email"), ("sms", "phone")) if key in to],
        routing=Routing.ALL,
        reference=f"{TEST_REFERENCE_PREFIX}{version} by user {user.pk}",
    )
    try:
        notification = notification_accept(request=request, api_key=None, version=version)
    except NotificationRejected as exc:
        raise TestSendFailed(exc.detail) from exc
    return str(notification.id)


def template_test_send_outcomes(*, notification_id: str) -> list[dict[str, str]]:
    """What became of each message of a test notification, in words: its channel, address,
    status, the block reason's label and the compliance decision's sentence (or the
    provider's error). Only test notifications are read (the caller checked it is the
    user's own)."""
    rows = Message.objects.filter(
        notification_id=notification_id, notification__reference__startswith=TEST_SEND_REFERENCE_PREFIX
    ).order_by("channel")
    labels = dict(BlockReason.choices)
    return [
        {
            "channel": m.channel,
            "to": m.to,
            "status": m.status,
            "reason": str(labels.get(m.block_reason, m.block_reason)),
            "why": str((m.decision or {}).get("sentence", "")) or m.error_message,
        }
        for m in rows
    ]


def staff_code_send(*, channel: str, address: str, code: str) -> str:
    """Send ``code`` to ``address`` through the channel's first provider, directly: it is not
    a message to a customer, so it makes no notification (which would keep the code in clear).
    Returns the address normalised. Raises StaffAddressError naming the problem."""
    try:
        to = normalise_phone(address) if channel == "sms" else normalise_email(address)
    except ValidationError as exc:
        raise StaffAddressError(" ".join(exc.messages)) from exc
    text = f"Your Switchboard code is {code}. It proves this address is yours for test sends."
    content = {"text": text}
    if channel == "email":
        content |= {"subject": "Your Switchboard verification code", "html": f"<p>{text}</p>"}
    message = OutboundMessage(
        message_id=f"staff-code-{uuid.uuid4().hex}", channel=channel, to=to, content=content
    )
    try:
        provider_for(channel).send(message)
    except (LookupError, ProviderError) as exc:
        raise StaffAddressError(f"The code could not be sent: {exc}") from exc
    return to
