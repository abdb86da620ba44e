"""Bench data: one live SMS template and N queued messages, created in bulk (not timed)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from django.contrib.auth import get_user_model
from django.db import transaction

from audit.services import Actor
from hub.messaging.lifecycle import Change, messages_transition
from hub.messaging.models import Message, Notification
from hub.messaging.models import MessageStatus as S
from templates_app.models import Category, Template
from templates_app.services import template_draft_create, template_version_approve, template_version_submit

BENCH_TEMPLATE = "bench.sms"
BENCH_DATA = {"first_name": "Ada", "code": "123456"}


def bench_template() -> Template:
    existing = Template.objects.filter(key=BENCH_TEMPLATE).select_related("live_version").first()
    if existing is not None and existing.live_version is not None:
        return existing
    users = get_user_model().objects
    author, _ = users.get_or_create(username="bench-author")
    approver, _ = users.get_or_create(username="bench-approver")
    template = existing or Template.objects.create(
        key=BENCH_TEMPLATE, name="Benchmark SMS", category=Category.TRANSACTIONAL
    )
    version = template_draft_create(
        template=template,
        author=author,
        variants=[
            {"channel": "sms", "locale": "en", "text": "Hi {{ first_name }}, your code is {{ code }}."}
        ],
        variables=[
            {"name": "first_name", "type": "string", "required": True, "example": "Ada"},
            {"name": "code", "type": "string", "required": True, "example": "123456"},
        ],
    )
    template_version_submit(version=version, actor=Actor.user(author.pk))
    template_version_approve(version=version, approver=approver)
    template.refresh_from_db()
    return template


def queued_messages_create(
    *, count: int, phone: str, batch: int = 2000, phones: Sequence[str] = ()
) -> list[UUID]:
    """``count`` queued SMS messages, one notification each, through the real lifecycle; to
    ``phones[i]`` if given (one number per message), else all to ``phone``."""
    template = bench_template()
    ids: list[UUID] = []
    for start in range(0, count, batch):
        size = min(batch, count - start)
        with transaction.atomic():
            notifications = Notification.objects.bulk_create(
                Notification(
                    template=template,
                    template_version=template.live_version,
                    data=BENCH_DATA,
                    channels=["sms"],
                    to={"phone": phones[start + i] if phones else phone},
                )
                for i in range(size)
            )
            messages = Message.objects.bulk_create(
                Message(
                    notification=n, channel="sms", category=template.category, to=n.to["phone"], locale="en"
                )
                for n in notifications
            )
            messages_transition(
                [Change(m.id, S.QUEUED) for m in messages], actor=Actor.system(), source="bench"
            )
        ids.extend(m.id for m in messages)
    return ids
