"""Factories for the objects most tests need (a pytest plugin: each is a fixture)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from audit.services import Actor
from hub.apikeys.services import IssuedKey, apikey_create
from hub.contacts.models import Contact, Device
from hub.messaging.lifecycle import Change, messages_transition
from hub.messaging.models import Message, Notification
from hub.messaging.models import MessageStatus as S
from templates_app.models import Category, Template
from templates_app.services import template_draft_create, template_version_approve, template_version_submit

SMS_TEXT = "Hi {{ first_name }}, order {{ order_number }} is on its way."
EMAIL_VARIANT = {
    "channel": "email",
    "locale": "en",
    "subject": "Order {{ order_number }} shipped",
    "html": "<p>Hi {{ first_name }}, order <b>{{ order_number }}</b> is on its way.</p>",
    "text": "Hi {{ first_name }}, order {{ order_number }} is on its way.",
}
ORDER_DATA = {"first_name": "Ada", "order_number": "A-1"}


def make_live_template(
    key: str = "order.shipped",
    *,
    category: str = Category.TRANSACTIONAL,
    variants: list[dict[str, str]] | None = None,
) -> Template:
    User = get_user_model()
    author, _ = User.objects.get_or_create(username=f"author-{key}")
    approver, _ = User.objects.get_or_create(username=f"approver-{key}")
    template = Template.objects.create(key=key, name=key, category=category)
    variants = variants or [{"channel": "sms", "locale": "en", "text": SMS_TEXT}, EMAIL_VARIANT]
    version = template_draft_create(template=template, author=author, variants=variants)
    template_version_submit(version=version, actor=Actor.user(author.pk))
    template_version_approve(version=version, approver=approver)
    template.refresh_from_db()
    return template


@pytest.fixture
def live_template(db: None) -> Template:
    return make_live_template()


@pytest.fixture
def template_factory(db: None) -> Callable[..., Template]:
    return make_live_template


@pytest.fixture
def contact(db: None) -> Contact:
    return Contact.objects.create(
        external_id="cust-1",
        email="ada@example.com",
        phone="+447911123456",
        locale="en-GB",
        timezone="Europe/London",
    )


@pytest.fixture
def issued_key(db: None) -> IssuedKey:
    return apikey_create(name="test-service")


@pytest.fixture
def authed_client(api_client: Any, issued_key: IssuedKey) -> Any:
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued_key.raw}")
    return api_client


PUSH_VARIANT = {
    "channel": "push",
    "locale": "en",
    "title": "Order {{ order_number }}",
    "text": "Hi {{ first_name }}, it is on its way.",
    "link": "https://shop.example.com/orders/{{ order_number }}",
}
ALL_CHANNEL_VARIANTS = [{"channel": "sms", "locale": "en", "text": SMS_TEXT}, EMAIL_VARIANT, PUSH_VARIANT]


def make_device(
    contact: Contact, *, kind: str = "fcm", token: str = "", subscription: dict[str, Any] | None = None
) -> Device:
    """A push device; for Web Push the token is the subscription's endpoint."""
    if kind == "webpush" and subscription is not None:
        token = subscription["endpoint"]
    return Device.objects.create(
        contact=contact,
        kind=kind,
        token=token or f"fcm-token-{Device.objects.count() + 1}",
        subscription=subscription or {},
    )


def make_queued_messages(
    template: Template,
    *,
    channel: str = "sms",
    to: str = "+447911123456",
    count: int = 1,
    contact: Contact | None = None,
    data: dict[str, Any] | None = None,
) -> list[Message]:
    """Messages already queued for sending (as accept would leave them), bypassing compliance."""
    assert template.live_version is not None
    notification = Notification.objects.create(
        template=template, template_version=template.live_version, data=data or ORDER_DATA, contact=contact
    )
    messages = Message.objects.bulk_create(
        Message(notification=notification, channel=channel, category=template.category, to=to, locale="en")
        for _ in range(count)
    )
    messages_transition([Change(m.id, S.QUEUED) for m in messages], actor=Actor.system(), source="test")
    return messages
