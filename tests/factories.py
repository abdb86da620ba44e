"""Factories for the objects most tests need (a pytest plugin: each is a fixture)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from audit.services import Actor
from hub.apikeys.services import IssuedKey, apikey_create
from hub.contacts.models import Contact, Device
from hub.messaging.intake import NotificationRequest, notification_accept
from hub.messaging.lifecycle import Change, messages_transition
from hub.messaging.models import Message, Notification
from hub.messaging.models import MessageStatus as S
from templates_app.models import Category, Template, TemplateVersion, VersionStatus
from templates_app.rendering.validation import source_names
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


def declared_strings(variants: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every variable the variants use, declared as a required string with an example."""
    names: set[str] = set()
    for variant in variants:
        for value in variant.values():
            if isinstance(value, str):
                names |= source_names(value)
    return [{"name": n, "type": "string", "required": True, "example": n} for n in sorted(names)]


def make_live_template(
    key: str = "order.shipped",
    *,
    category: str = Category.TRANSACTIONAL,
    variants: list[dict[str, Any]] | None = None,
    variables: list[dict[str, Any]] | None = None,
    lint: bool = False,
) -> Template:
    """A template with one approved, live version. Variables default to the names the content
    uses, as strings. With ``lint=False`` the version is put in review without the lint (so
    tests of send-time rules can build content the lint would refuse); approval always goes
    through the real maker-checker service."""
    User = get_user_model()
    author, _ = User.objects.get_or_create(username=f"author-{key}")
    approver, _ = User.objects.get_or_create(username=f"approver-{key}")
    template = Template.objects.create(key=key, name=key, category=category)
    variants = variants or [{"channel": "sms", "locale": "en", "text": SMS_TEXT}, EMAIL_VARIANT]
    if variables is None:
        variables = declared_strings(variants)
    version = template_draft_create(template=template, author=author, variants=variants, variables=variables)
    if lint:
        template_version_submit(version=version, actor=Actor.user(author.pk))
    else:
        TemplateVersion.objects.filter(pk=version.pk).update(status=VersionStatus.IN_REVIEW)
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


# --- Compliance, contacts and preferences --------------------------------------------------
MARKETING_EMAIL = {
    "channel": "email",
    "locale": "en",
    "subject": "Spring offers, {{ first_name }}",
    "html": "<p>Hi {{ first_name }}</p><p><a href='{{ unsubscribe_url }}'>Unsubscribe</a> {{ postal_address }}</p>",
    "text": "Hi {{ first_name }}. Unsubscribe: {{ unsubscribe_url }} {{ postal_address }}",
}
MARKETING_DATA = {
    "first_name": "Ada",
    "unsubscribe_url": "https://hub.example/u/x",
    "postal_address": "1 High St",
}


@pytest.fixture
def marketing_template(db: None) -> Template:
    """A live marketing template with SMS and a compliant email variant."""
    return make_live_template(
        "promo.spring",
        category=Category.MARKETING,
        variants=[
            {
                "channel": "sms",
                "locale": "en",
                "text": "Spring sale, {{ first_name }}! Reply STOP to opt out.",
            },
            MARKETING_EMAIL,
        ],
    )


def grant_consent(contact: Contact, *channels: str, purpose: str = "marketing") -> None:
    from hub.contacts.services import consent_record

    for channel in channels or ("sms", "email", "push"):
        consent_record(
            contact=contact,
            channel=channel,
            purpose=purpose,
            granted=True,
            source="api",
            actor=Actor.system(),
            evidence={"wording_version": "test-v1"},
        )


@pytest.fixture
def consent_factory(db: None) -> Callable[..., None]:
    return grant_consent


def zone_at_local_hour(hour: int) -> str:
    """An IANA zone (fixed offset, no DST) where the local time now has this hour."""
    from django.utils import timezone

    now = timezone.now()
    offset = (hour - now.hour + 12) % 24 - 12  # local = UTC + offset, offset in -12..11
    if offset == 0:
        return "Etc/UTC"
    # POSIX sign convention: Etc/GMT+5 is five hours *behind* UTC.
    return f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def staff_user(username: str, *roles: str, superuser: bool = False) -> Any:
    from django.contrib.auth.models import Group

    from hub.roles import roles_ensure

    roles_ensure()
    User = get_user_model()
    user = User.objects.create_user(username=username, password="pw", is_staff=True, is_superuser=superuser)
    for role in roles:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def user_factory(db: None) -> Callable[..., Any]:
    return staff_user


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


# --- Issue 7 (services' API) -------------------------------------------------------------------
@pytest.fixture
def twilio_sms(fake_twilio: Any, settings: Any) -> Any:
    """SMS goes through the real twilio SDK to the fake Twilio server; email and push stay sandbox."""
    from bench.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER

    providers = dict(settings.HUB_PROVIDERS)
    providers["sms"] = [
        {
            "NAME": "twilio",
            "BACKEND": "hub.providers.twilio.TwilioSmsProvider",
            "OPTIONS": {
                "account_sid": ACCOUNT_SID,
                "auth_token": AUTH_TOKEN,
                "from_number": FROM_NUMBER,
                "api_base_url": fake_twilio.base_url,
                "timeout": 5,
            },
        }
    ]
    settings.HUB_PROVIDERS = providers
    return fake_twilio


def key_client(issued: IssuedKey) -> Any:
    """An API client that authenticates with this key."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw}")
    return client


def make_contacts(
    count: int, *, prefix: str = "cust", attributes: dict[str, Any] | None = None
) -> list[Contact]:
    """``count`` contacts with phone and email, external ids ``<prefix>-<n>``."""
    return Contact.objects.bulk_create(
        Contact(
            external_id=f"{prefix}-{n}",
            phone=f"+4479{n:08d}",
            email=f"{prefix}{n}@example.com",
            locale="en",
            attributes=dict(attributes or {}),
        )
        for n in range(1, count + 1)
    )
