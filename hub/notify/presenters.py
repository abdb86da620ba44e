"""Notify's response bodies, built from our rows (one function per body).

Timestamps are Notify's: UTC, ``2026-12-06T16:55:00.123456Z``. URIs are absolute, built
from the request (Notify's clients follow ``links.next``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from hub.contacts.models import InboundMessage
from hub.messaging.models import Message, Notification
from hub.notify.models import NotifyKey, NotifyNotification, SmsSender
from hub.notify.personalisation import RESERVED
from hub.notify.statuses import notify_status
from templates_app.models import TemplateVariant, TemplateVersion
from templates_app.rendering import (
    RenderedContent,
    RenderError,
    variant_render,
    variant_select,
    version_channels,
    version_variables,
)
from templates_app.rendering.validation import version_content

Uri = Callable[[str], str]  # a path under the site → its absolute URL
NOTIFY_TYPES = ("sms", "email")
SENT_STATUSES = ("sending", "sent")
FINAL_NOTIFY = ("delivered", "permanent-failure", "temporary-failure", "technical-failure", "cancelled")


def timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def template_type(version: TemplateVersion, wanted: str | None = None) -> str | None:
    """The Notify type a version shows as: ``wanted`` if it has that content, else SMS, else
    email; None for push-only content (Notify has no such type)."""
    channels = version_channels(version)
    if wanted in channels and wanted in NOTIFY_TYPES:
        return wanted
    return next((c for c in NOTIFY_TYPES if c in channels), None)


def template_variant(version: TemplateVersion, channel: str) -> TemplateVariant | None:
    template = version.template
    return variant_select(
        list(version.variants.all()),
        channel=channel,
        locale=template.default_locale,
        default_locale=template.default_locale,
    )


def render(version: TemplateVersion, channel: str, data: dict[str, Any], locale: str = "") -> RenderedContent:
    """The version's content on ``channel`` rendered with ``data`` (RenderError if it cannot be)."""
    template = version.template
    variant = variant_select(
        list(version.variants.all()),
        channel=channel,
        locale=locale or template.default_locale,
        default_locale=template.default_locale,
    )
    if variant is None:
        raise RenderError(f"No {channel} content.")
    return variant_render(variant, data)


def template_ref(version: TemplateVersion, uri: Uri) -> dict[str, Any]:
    return {
        "id": str(version.template.uuid),
        "version": version.number,
        "uri": uri(f"/v2/template/{version.template.uuid}/version/{version.number}"),
    }


def template_body(version: TemplateVersion, wanted: str | None = None) -> dict[str, Any]:
    kind = template_type(version, wanted) or "sms"
    variant = template_variant(version, kind)
    author = version.author
    return {
        "id": str(version.template.uuid),
        "name": version.template.name,
        "type": kind,
        "created_at": timestamp(version.created_at),
        "updated_at": timestamp(version.reviewed_at),
        "created_by": (author.email or author.get_username()) if author is not None else "",
        "version": version.number,
        "body": (variant.text or variant.html) if variant is not None else "",
        "subject": (variant.subject if variant is not None else "") if kind == "email" else None,
        "personalisation": template_personalisation(version),
        "letter_contact_block": None,
    }


def template_personalisation(version: TemplateVersion) -> dict[str, dict[str, bool]]:
    """Notify's ``personalisation`` of a template: each variable it takes, and whether a send
    must give it (our declared variables, and any name the content uses undeclared)."""
    declared = {spec.name: spec.required for spec in version_variables(version)}
    names = sorted((set(declared) | version_content(version).used) - RESERVED)
    return {name: {"required": declared.get(name, True)} for name in names}


def preview_body(version: TemplateVersion, rendered: RenderedContent, kind: str) -> dict[str, Any]:
    return {
        "id": str(version.template.uuid),
        "type": kind,
        "version": version.number,
        "body": rendered.text,
        "subject": rendered.subject if kind == "email" else None,
        "html": rendered.html if kind == "email" else None,
    }


def sender_number(row: NotifyNotification | None = None) -> str:
    """The SMS sender shown: the one the request named, else the default one, else Twilio's."""
    if row is not None and row.sms_sender is not None:
        return row.sms_sender.sms_sender
    default = SmsSender.objects.filter(is_default=True).values_list("sms_sender", flat=True).first()
    return str(default or settings.TWILIO_FROM_NUMBER or "Switchboard")


def sender_email() -> str:
    return str(settings.SENDGRID_FROM_EMAIL or settings.SMTP_FROM_EMAIL or settings.DEFAULT_FROM_EMAIL)


def _message(notification: Notification) -> Message:
    return notification.messages.all()[0]  # /v2/ notifications have one channel, one message


def _content(notification: Notification, message: Message) -> RenderedContent:
    rendered = message.rendered or {}
    if rendered.get("text") or rendered.get("html"):
        return RenderedContent(
            **{k: str(v) for k, v in rendered.items() if k in RenderedContent.__dataclass_fields__}
        )
    try:
        return render(notification.template_version, message.channel, dict(notification.data), message.locale)
    except RenderError:
        return RenderedContent()


def post_response(row: NotifyNotification, uri: Uri) -> dict[str, Any]:
    """``POST /v2/notifications/{sms,email}``'s 201 body."""
    notification = row.notification
    content = _content(notification, _message(notification))
    body: dict[str, Any] = {
        "id": str(notification.id),
        "reference": row.reference or None,
        "uri": uri(f"/v2/notifications/{notification.id}"),
        "template": template_ref(notification.template_version, uri),
        "scheduled_for": timestamp(notification.send_at),
    }
    if row.type == "sms":
        body["content"] = {"body": content.text, "from_number": sender_number(row)}
    else:
        body["content"] = {
            "body": content.text,
            "subject": content.subject,
            "from_email": sender_email(),
            "one_click_unsubscribe_url": row.one_click_unsubscribe_url or None,
        }
        body["sanitised_content"] = {}
    return body


def _first_event_at(message: Message, statuses: tuple[str, ...]) -> datetime | None:
    return next((e.occurred_at for e in message.events.all() if e.status in statuses), None)


def notification_body(row: NotifyNotification, uri: Uri) -> dict[str, Any]:
    """One notification as ``GET /v2/notifications/{id}`` answers it. ``switchboard`` is
    ours (Notify's clients ignore it): our own status and, for a blocked message, why."""
    notification = row.notification
    message = _message(notification)
    content = _content(notification, message)
    status = notify_status(status=message.status, channel=message.channel)
    return {
        "id": str(notification.id),
        "reference": row.reference or None,
        "email_address": message.to if row.type == "email" else None,
        "phone_number": message.to if row.type == "sms" else None,
        "line_1": None,
        "line_2": None,
        "line_3": None,
        "line_4": None,
        "line_5": None,
        "line_6": None,
        "postcode": None,
        "postage": None,
        "type": row.type,
        "status": status,
        "template": template_ref(notification.template_version, uri),
        "body": content.text,
        "subject": content.subject if row.type == "email" else None,
        "created_at": timestamp(notification.created_at),
        "created_by_name": None,
        "sent_at": timestamp(_first_event_at(message, SENT_STATUSES)),
        "completed_at": timestamp(message.status_changed_at) if status in FINAL_NOTIFY else None,
        "scheduled_for": timestamp(notification.send_at),
        "one_click_unsubscribe_url": row.one_click_unsubscribe_url or None,
        "switchboard": {
            "status": message.status,
            "block_reason": message.block_reason or None,
            "decided_by": message.decided_by or None,
            "uri": uri(f"/api/v1/notifications/{notification.id}"),
        },
    }


def received_text_id(message: InboundMessage) -> str:
    """A received text's id in Notify's form (a UUID) for our integer id, and back."""
    return str(uuid.UUID(int=message.pk))


def received_text_pk(value: uuid.UUID) -> int:
    return value.int


def received_text_body(message: InboundMessage, notify_key: NotifyKey) -> dict[str, Any]:
    return {
        "id": received_text_id(message),
        "created_at": timestamp(message.received_at),
        "notify_number": sender_number(),
        "user_number": message.from_address,
        "service_id": str(notify_key.service_id),
        "content": message.body,
    }
