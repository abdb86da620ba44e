"""Sending through ``/v2/``: Notify's request made into the hub's one intake.

``/v2/`` is another door to the same intake: the notification is accepted by
``hub.messaging.intake.notification_accept`` (compliance, lifecycle, audit and dispatch as
for every send); this module only translates Notify's terms (template UUID, personalisation,
key types) and records what Notify's responses echo back."""

from __future__ import annotations

import uuid

from django.db import transaction

from hub.apikeys.models import ApiKey
from hub.apikeys.services import apikey_may_send
from hub.messaging.intake import NotificationRejected, NotificationRequest, notification_accept
from hub.messaging.models import Notification
from hub.notify.errors import NotifyError, bad_request
from hub.notify.models import EmailReplyTo, KeyType, NotifyKey, NotifyNotification, SmsSender
from hub.notify.personalisation import personalisation_as_data
from hub.notify.simulated import is_simulated, simulation_key
from hub.notify.validation import SendRequest
from templates_app.models import StaffAddress, Template, TemplateVersion
from templates_app.rendering import version_channels, version_variables
from templates_app.rendering.validation import version_content

TEAM_ONLY = "Can\u2019t send to this recipient using a team-only API key"
# Notification.reference holds 200 characters; Notify's is up to 1,000 (kept in full on
# NotifyNotification, which is what /v2/ answers with and filters on).
HUB_REFERENCE_LENGTH = 200


def live_template(template_id: uuid.UUID) -> tuple[Template, TemplateVersion]:
    """The template with this UUID and its live version; BadRequestError as Notify words it."""
    template = Template.objects.select_related("live_version").filter(uuid=template_id).first()
    if template is None or template.live_version is None:
        raise bad_request("Template not found")
    return template, template.live_version


def template_data(version: TemplateVersion, personalisation: dict[str, object]) -> dict[str, object]:
    """The personalisation as this version's data; ``Missing personalisation: a, b`` if a
    required variable (or one the content uses) was not given."""
    data, missing = personalisation_as_data(
        personalisation, specs=version_variables(version), used=version_content(version).used
    )
    if missing:
        raise bad_request(f"Missing personalisation: {', '.join(missing)}")
    return data


def _check_team_recipient(notify_key: NotifyKey, request: SendRequest) -> None:
    # Notify's team keys reach only the team; here the team's addresses are the ones staff
    # verified in admin ("my test addresses").
    if notify_key.key_type != KeyType.TEAM or is_simulated(channel=request.type, address=request.to):
        return
    verified = StaffAddress.objects.filter(
        channel=request.type, address=request.to, verified_at__isnull=False
    ).exists()
    if not verified:
        raise bad_request(TEAM_ONLY)


def _sender(notify_key: NotifyKey, request: SendRequest) -> SmsSender | EmailReplyTo | None:
    """The sender the request names, if any; Notify's BadRequestError if there is none such."""
    if request.sender_id is None:
        return None
    model: type[SmsSender] | type[EmailReplyTo] = SmsSender if request.type == "sms" else EmailReplyTo
    found = model.objects.filter(id=request.sender_id).first()
    if found is None:
        field = "sms_sender_id" if request.type == "sms" else "email_reply_to_id"
        raise bad_request(
            f"{field} {request.sender_id} does not exist in database for service id {notify_key.service_id}"
        )
    return found


def notify_send(*, request: SendRequest, notify_key: NotifyKey) -> Notification:
    """Accept one SMS or email sent through ``/v2/``. Raises NotifyError (nothing written)
    for what Notify would refuse, and for what the intake refuses (its reason as the
    message). On return the notification is accepted exactly as one from ``/api/v1/``."""
    template, version = live_template(request.template_id)
    if request.type not in version_channels(version):
        raise bad_request(f"{template.name} template is not suitable for {request.type} notification")
    data = template_data(version, request.personalisation)
    sender = _sender(notify_key, request)
    _check_team_recipient(notify_key, request)
    api_key: ApiKey = notify_key.api_key
    if is_simulated(channel=request.type, address=request.to):
        # The caller's own key decides what may be sent; its test companion keeps it in the sandbox.
        if not apikey_may_send(api_key=api_key, template_key=template.key, category=template.category):
            raise NotifyError(
                403, "AuthError", f"This API key's scopes do not allow sending '{template.key}'."
            )
        api_key = simulation_key(notify_key)
    intake = NotificationRequest(
        template=template.key,
        to={"phone": request.to} if request.type == "sms" else {"email": request.to},
        data=data,
        channels=[request.type],
        reference=request.reference[:HUB_REFERENCE_LENGTH],
        send_at=request.scheduled_for,
        sms_sender=sender.sms_sender if isinstance(sender, SmsSender) else "",
        email_reply_to=sender.email_address if isinstance(sender, EmailReplyTo) else "",
    )
    with transaction.atomic():
        try:
            notification = notification_accept(request=intake, api_key=api_key)
        except NotificationRejected as exc:
            if exc.status == 403:
                raise NotifyError(403, "AuthError", exc.detail) from exc
            raise bad_request(exc.detail) from exc
        notification.notify = NotifyNotification.objects.create(
            notification=notification,
            service_id=notify_key.service_id,
            key_type=notify_key.key_type,
            type=request.type,
            reference=request.reference,
            one_click_unsubscribe_url=request.one_click_unsubscribe_url,
            sms_sender=sender if isinstance(sender, SmsSender) else None,
            email_reply_to=sender if isinstance(sender, EmailReplyTo) else None,
        )
    return notification
