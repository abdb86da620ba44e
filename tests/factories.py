"""Factories for the objects most tests need (a pytest plugin: each is a fixture)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from audit.services import Actor
from hub.apikeys.services import IssuedKey, apikey_create
from hub.contacts.models import Contact
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


# --- Issue 7 (services' API) -------------------------------------------------------------------
@pytest.fixture
def twilio_sms(fake_twilio: Any, settings: Any) -> Any:
    """SMS goes through the real twilio SDK to the fake Twilio server; email and push stay sandbox."""
    from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER

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
