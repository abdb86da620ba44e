"""Demo data for a first look: templates in both categories, contacts, a user per role, a key."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.db import transaction

from audit.services import Actor
from hub.apikeys.models import ApiKey
from hub.apikeys.services import apikey_create, apikey_revoke
from hub.contacts.models import Contact
from hub.roles import roles_ensure
from templates_app.models import Category, Template
from templates_app.services import template_draft_create, template_version_approve, template_version_submit

DEMO_PASSWORD = "switchboard-demo"  # noqa: S105 - demo accounts, development only
DEMO_USERS = {
    "admin": None,
    "marketer": "Marketer",
    "compliance": "Compliance",
    "support": "Support",
    "operator": "Operator",
}
DEMO_KEY_NAME = "demo"

ORDER_SHIPPED = [
    {
        "channel": "sms",
        "locale": "en",
        "text": "Hi {{ first_name }}, your order {{ order_number }} is on its way.",
    },
    {
        "channel": "sms",
        "locale": "fr",
        "text": "Bonjour {{ first_name }}, votre commande {{ order_number }} est en route.",
    },
    {
        "channel": "email",
        "locale": "en",
        "subject": "Your order {{ order_number }} has shipped",
        "html": "<p>Hi {{ first_name }},</p><p>Your order <strong>{{ order_number }}</strong> is on its way.</p>",
        "text": "Hi {{ first_name }},\n\nYour order {{ order_number }} is on its way.",
    },
    {
        "channel": "email",
        "locale": "fr",
        "subject": "Votre commande {{ order_number }} est partie",
        "html": "<p>Bonjour {{ first_name }},</p><p>Votre commande <strong>{{ order_number }}</strong> est en route.</p>",
        "text": "Bonjour {{ first_name }},\n\nVotre commande {{ order_number }} est en route.",
    },
    {
        "channel": "push",
        "locale": "en",
        "title": "Order shipped",
        "text": "Order {{ order_number }} is on its way.",
        "link": "https://shop.example/orders/{{ order_number }}",
    },
    {
        "channel": "push",
        "locale": "fr",
        "title": "Commande expédiée",
        "text": "La commande {{ order_number }} est en route.",
        "link": "https://shop.example/orders/{{ order_number }}",
    },
]
SPRING_OFFER = [
    {
        "channel": "sms",
        "locale": "en",
        "text": "Hi {{ first_name }}, 20% off everything this week with code SPRING. Reply STOP to opt out.",
    },
    {
        "channel": "sms",
        "locale": "fr",
        "text": "Bonjour {{ first_name }}, -20% sur tout cette semaine avec le code SPRING. STOP pour vous désabonner.",
    },
    {
        "channel": "email",
        "locale": "en",
        "subject": "20% off, this week only",
        "html": "<p>Hi {{ first_name }},</p><p>Use code <b>SPRING</b> for 20% off.</p>"
        '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a> · Example Bank, 1 High Street, London</p>',
        "text": "Hi {{ first_name }}, use code SPRING for 20% off.\nUnsubscribe: {{ unsubscribe_url }}\n"
        "Example Bank, 1 High Street, London",
    },
    {
        "channel": "email",
        "locale": "fr",
        "subject": "-20 %, cette semaine seulement",
        "html": "<p>Bonjour {{ first_name }},</p><p>Code <b>SPRING</b> : -20 %.</p>"
        '<p><a href="{{ unsubscribe_url }}">Se désabonner</a> · Example Bank, 1 High Street, Londres</p>',
        "text": "Bonjour {{ first_name }}, code SPRING : -20 %.\nSe désabonner : {{ unsubscribe_url }}\n"
        "Example Bank, 1 High Street, Londres",
    },
]
CONTACTS = [
    {
        "external_id": "cust-1001",
        "email": "ada@example.com",
        "phone": "+447911123456",
        "locale": "en-GB",
        "timezone": "Europe/London",
        "attributes": {"tier": "gold", "city": "London"},
    },
    {
        "external_id": "cust-1002",
        "email": "jean@example.fr",
        "phone": "+33612345678",
        "locale": "fr-FR",
        "timezone": "Europe/Paris",
        "attributes": {"tier": "silver", "city": "Paris"},
    },
    {
        "external_id": "cust-1003",
        "email": "sam@example.com",
        "phone": "+14155550123",
        "locale": "en-US",
        "timezone": "America/Los_Angeles",
        "attributes": {"tier": "bronze", "city": "San Francisco"},
    },
]


@dataclass(frozen=True)
class DemoSeed:
    api_key: str
    usernames: list[str]


def _user(username: str, role: str | None) -> User:
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=username, defaults={"email": f"{username}@switchboard.example", "is_staff": True}
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.is_superuser = role is None
        user.save()
        if role:
            user.groups.add(Group.objects.get(name=role))
    return user


def _template(
    key: str,
    name: str,
    category: str,
    variants: list[dict[str, str]],
    author: User,
    approver: User,
) -> None:
    if Template.objects.filter(key=key).exists():
        return
    template = Template.objects.create(key=key, name=name, category=category, default_locale="en")
    version = template_draft_create(template=template, author=author, variants=variants)
    template_version_submit(version=version, actor=Actor.user(author.pk), comment="Demo content")
    template_version_approve(version=version, approver=approver, comment="Approved for the demo")


def demo_seed() -> DemoSeed:
    """Create what is missing (idempotent) and issue a fresh demo API key (the old one is revoked)."""
    roles_ensure()
    with transaction.atomic():
        users = {name: _user(name, role) for name, role in DEMO_USERS.items()}
        _template(
            "order.shipped",
            "Order shipped",
            Category.TRANSACTIONAL,
            ORDER_SHIPPED,
            users["marketer"],
            users["compliance"],
        )
        _template(
            "offer.spring",
            "Spring offer",
            Category.MARKETING,
            SPRING_OFFER,
            users["marketer"],
            users["compliance"],
        )
        for row in CONTACTS:
            Contact.objects.get_or_create(external_id=row["external_id"], defaults=row)
        for old in ApiKey.objects.filter(name=DEMO_KEY_NAME, revoked_at__isnull=True):
            apikey_revoke(api_key=old, actor=Actor.system())
        issued = apikey_create(name=DEMO_KEY_NAME)
    return DemoSeed(api_key=issued.raw, usernames=list(DEMO_USERS))
