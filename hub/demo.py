"""Demo data for a first look: templates in both categories, contacts, a user per role, a key,
and an approved abandoned-cart journey."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.db import transaction

from audit.services import Actor
from hub.apikeys.models import ApiKey
from hub.apikeys.services import apikey_create, apikey_revoke
from hub.contacts.models import Contact, Device
from hub.demo_templates import DEMO_LAYOUT, DEMO_TEMPLATES
from hub.journeys.models import Journey
from hub.journeys.services import (
    journey_create,
    journey_draft_create,
    journey_version_approve,
    journey_version_submit,
)
from hub.notify.keys import notify_key_create
from hub.roles import roles_ensure
from templates_app.models import EmailLayout, Template
from templates_app.services import (
    template_create,
    template_draft_create,
    template_version_approve,
    template_version_submit,
)

DEMO_PASSWORD = "switchboard-demo"  # noqa: S105 - demo accounts, development only
DEMO_USERS = {
    "admin": None,
    "marketer": "Marketer",
    "compliance": "Compliance",
    "support": "Support",
    "operator": "Operator",
}
DEMO_KEY_NAME = "demo"
DEMO_NOTIFY_KEY_NAME = "demo-notify"
NOTIFY_DEMO_KEYS = ("notify.welcome.email", "notify.welcome.sms")

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


DEMO_DEVICE = {"kind": "fcm", "token": "demo-fcm-token-cust-1001"}
# The abandoned-cart journey (issue 17.9): push, then if the push is not clicked within a
# short wait an email, then after another wait an SMS; an order ends it and is its goal.
# Waits are seconds long so the demo can be watched (beat wakes runs every 5 s).
ABANDONED_CART: dict[str, Any] = {
    "key": "abandoned_cart",
    "name": "Abandoned cart",
    "description": "Reminds a customer of the cart they left: push, then email, then SMS.",
    "trigger": {"event": "cart.abandoned"},
    "reentry": {"policy": "always"},
    "exit_events": [{"event": "order.completed"}],
    "goal": {"event": "order.completed", "within": "1d"},
    "steps": [
        {"id": "push", "type": "send", "template": "cart.reminder", "channels": ["push"]},
        {
            "id": "wait_click",
            "type": "wait_for",
            "message": {"step": "push", "status": ["clicked"]},
            "timeout": "30s",
            "on_match": "done",
            "on_timeout": "email",
        },
        {"id": "email", "type": "send", "template": "cart.reminder", "channels": ["email"]},
        {"id": "pause", "type": "wait", "duration": "30s"},
        {"id": "sms", "type": "send", "template": "cart.reminder", "channels": ["sms"]},
        {"id": "done", "type": "exit"},
    ],
}


def _journey(definition: dict[str, Any], author: User, approver: User) -> None:
    """Write, submit and approve the demo journey once, as a marketer and compliance would."""
    if Journey.objects.filter(key=definition["key"]).exists():
        return
    journey = journey_create(key=definition["key"], name=definition["name"], actor=Actor.user(author.pk))
    version = journey_draft_create(journey=journey, author=author, definition=definition)
    journey_version_submit(version=version, actor=Actor.user(author.pk), comment="Demo journey")
    journey_version_approve(version=version, approver=approver, comment="Approved for the demo")


@dataclass(frozen=True)
class DemoSeed:
    api_key: str
    usernames: list[str]
    notify_api_key: str = ""
    # Template name → UUID, for the Notify-syntax templates (/v2/ names templates by UUID).
    notify_templates: dict[str, str] = field(default_factory=dict)


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


def _template(spec: dict[str, Any], layout: EmailLayout, author: User, approver: User) -> None:
    """Write, submit (through the lint) and approve one demo template, as real users would."""
    if Template.objects.filter(key=spec["key"]).exists():
        return
    template = template_create(
        key=spec["key"],
        name=spec["name"],
        category=spec["category"],
        description=spec["description"],
        actor=Actor.user(author.pk),
    )
    version = template_draft_create(
        template=template,
        author=author,
        variants=spec["variants"],
        variables=spec["variables"],
        layout=layout,
    )
    template_version_submit(version=version, actor=Actor.user(author.pk), comment="Demo content")
    template_version_approve(version=version, approver=approver, comment="Approved for the demo")


def demo_seed() -> DemoSeed:
    """Create what is missing (idempotent) and issue a fresh demo API key (the old one is revoked)."""
    roles_ensure()
    with transaction.atomic():
        users = {name: _user(name, role) for name, role in DEMO_USERS.items()}
        layout, _ = EmailLayout.objects.get_or_create(
            name=DEMO_LAYOUT["name"], defaults={k: v for k, v in DEMO_LAYOUT.items() if k != "name"}
        )
        for spec in DEMO_TEMPLATES:
            _template(spec, layout, users["marketer"], users["compliance"])
        for row in CONTACTS:
            Contact.objects.get_or_create(external_id=row["external_id"], defaults=row)
        first = Contact.objects.get(external_id="cust-1001")
        Device.objects.get_or_create(contact=first, kind=DEMO_DEVICE["kind"], defaults=DEMO_DEVICE)
        _journey(ABANDONED_CART, users["marketer"], users["compliance"])
        for old in ApiKey.objects.filter(name=DEMO_KEY_NAME, revoked_at__isnull=True):
            apikey_revoke(api_key=old, actor=Actor.system())
        issued = apikey_create(name=DEMO_KEY_NAME)
        for old in ApiKey.objects.filter(name=DEMO_NOTIFY_KEY_NAME, revoked_at__isnull=True):
            apikey_revoke(api_key=old, actor=Actor.system())
        notify = notify_key_create(name=DEMO_NOTIFY_KEY_NAME)
        notify_templates = {
            t.key: str(t.uuid) for t in Template.objects.filter(key__in=NOTIFY_DEMO_KEYS).order_by("key")
        }
    return DemoSeed(
        api_key=issued.raw,
        usernames=list(DEMO_USERS),
        notify_api_key=notify.raw,
        notify_templates=notify_templates,
    )
