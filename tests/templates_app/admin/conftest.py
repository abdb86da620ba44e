"""Staff users in their roles, and a draft version to work on."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from audit.services import Actor
from hub.roles import roles_ensure
from templates_app.services import template_create, template_draft_create

SMS = {"channel": "sms", "locale": "en", "text": "Hi {{ name }}"}
EMAIL = {"channel": "email", "locale": "en", "subject": "Hello {{ name }}", "html": "<p>Hi {{ name }}</p>"}
NAME = {"name": "name", "type": "string", "required": True, "example": "Ada"}


def staff(username: str, *roles: str):
    roles_ensure()
    user = get_user_model().objects.create_user(
        username=username, password="pw", email=f"{username}@example.com", is_staff=True
    )
    for role in roles:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def marketer(db):
    return staff("mara", "Marketer")


@pytest.fixture
def compliance(db):
    return staff("colin", "Compliance")


@pytest.fixture
def draft(marketer):
    template = template_create(
        key="card.ready", name="Card ready", category="transactional", actor=Actor.user(marketer.pk)
    )
    return template_draft_create(template=template, author=marketer, variants=[SMS, EMAIL], variables=[NAME])


def editor_post(version, **overrides):
    """The POST the version editor sends, built from the saved draft."""
    data = {"layout": "", "change_note": "", "_continue": "1"}
    variables = list(version.variables.all())
    variants = list(version.variants.all())
    for prefix, rows, fields in (
        ("variables", variables, ("name", "type", "required", "example", "description")),
        (
            "variants",
            variants,
            ("channel", "locale", "subject", "preheader", "html", "text", "title", "link", "data"),
        ),
    ):
        data |= {
            f"{prefix}-TOTAL_FORMS": str(len(rows)),
            f"{prefix}-INITIAL_FORMS": str(len(rows)),
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1000",
        }
        for i, row in enumerate(rows):
            data[f"{prefix}-{i}-id"] = str(row.pk)
            data[f"{prefix}-{i}-version"] = str(version.pk)
            for field in fields:
                value = getattr(row, field)
                if field == "required":
                    if value:
                        data[f"{prefix}-{i}-{field}"] = "on"
                    continue
                data[f"{prefix}-{i}-{field}"] = "{}" if field == "data" and not value else str(value)
    data.update(overrides)
    return data
