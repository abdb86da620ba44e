"""Factories for the objects most tests need (a pytest plugin: each is a fixture)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from audit.services import Actor
from hub.apikeys.services import IssuedKey, apikey_create
from hub.contacts.models import Contact
from hub.messaging.accept import NotificationRequest, notification_accept
from hub.messaging.lifecycle import Change, messages_transition
from hub.messaging.models import Message
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


# --- Messages with a history, and staff users in a role (workspace tests) ---------------------

PATHS = {
    "queued": (),
    "sent": ("sending", "sent"),
    "delivered": ("sending", "sent", "delivered"),
    "failed": ("sending", "failed"),
    "bounced": ("sending", "sent", "bounced"),
    "blocked": ("blocked",),
}


def make_message(
    *,
    template: Template,
    contact: Contact,
    channel: str = "sms",
    outcome: str = "delivered",
    data: dict[str, Any] | None = None,
    fields: dict[str, dict[str, Any]] | None = None,
) -> Message:
    """A message accepted through the real service, then moved by the lifecycle to ``outcome``
    (``fields`` adds fields per status, e.g. a block reason and decision for "blocked")."""
    notification = notification_accept(
        request=NotificationRequest(
            template=template.key,
            to={"external_id": contact.external_id},
            data=data or ORDER_DATA,
            channels=[channel],
        ),
        api_key=None,
    )
    message = notification.messages.get()
    for status in PATHS[outcome]:
        defaults: dict[str, dict[str, Any]] = {
            "sending": {"attempts": 1},
            "sent": {
                "provider": f"sandbox-{channel}",
                "provider_message_id": f"SM{message.id.hex[:16]}",
                "rendered": {"text": "Hi Ada, order A-1 is on its way."},
            },
        }
        extra = {**defaults.get(status, {}), **(fields or {}).get(status, {})}
        messages_transition(
            [Change(message.id, status, extra)], actor=Actor.system(), source="test", strict=True
        )
    message.refresh_from_db()
    return message


@pytest.fixture
def message_factory(db: None) -> Callable[..., Message]:
    return make_message


def make_staff_user(role: str | None, username: str | None = None) -> Any:
    """A staff user in one role group (None: staff with no role; "superuser": a superuser)."""
    User = get_user_model()
    name = username or f"{(role or 'norole').lower()}-user"
    if role == "superuser":
        return User.objects.create_superuser(username=name, password="pw-switchboard-1")
    user = User.objects.create_user(username=name, password="pw-switchboard-1", is_staff=True)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def staff_factory(db: None) -> Callable[..., Any]:
    return make_staff_user
