"""Bench data: one live template per channel and N queued messages, created in bulk (not timed)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from django.db import connection, transaction

from audit.services import Actor
from bench.audience import live_template
from hub.messaging.lifecycle import Change, messages_transition
from hub.messaging.models import Message, Notification
from hub.messaging.models import MessageStatus as S
from templates_app.models import Category, Template

BENCH_TEMPLATE = "bench.sms"
BENCH_DATA = {"first_name": "Ada", "code": "123456"}
# Where bench messages go: the fake providers accept any well-formed address.
BENCH_ADDRESSES = {"sms": "+447911123456", "email": "ada@example.com"}
_VARIANTS: dict[str, dict[str, str]] = {
    "sms": {"text": "Hi {{ first_name }}, your code is {{ code }}."},
    "email": {
        "subject": "Your code, {{ first_name }}",
        "html": "<p>Hi {{ first_name }}, your code is <b>{{ code }}</b>.</p>",
        "text": "Hi {{ first_name }}, your code is {{ code }}.",
    },
}


def bench_template(channel: str = "sms") -> Template:
    """The live bench template for ``channel`` (``bench.sms``, ``bench.email``), made once."""
    return live_template(
        key=f"bench.{channel}",
        name=f"Benchmark {channel}",
        category=Category.TRANSACTIONAL,
        variant={"channel": channel, **_VARIANTS[channel]},
        examples=BENCH_DATA,
    )


def queued_messages_create(
    *,
    count: int,
    channel: str = "sms",
    to: str = "",
    batch: int = 2000,
    phone: str = "",
    phones: Sequence[str] = (),
) -> list[UUID]:
    """``count`` queued messages on ``channel``, one notification each, through the real
    lifecycle; to ``phones[i]`` if given (one number per message), else all to one address."""
    template = bench_template(channel)
    address = to or phone or BENCH_ADDRESSES[channel]
    ids: list[UUID] = []
    for start in range(0, count, batch):
        size = min(batch, count - start)
        addresses = [phones[start + i] if phones else address for i in range(size)]
        with transaction.atomic():
            notifications = Notification.objects.bulk_create(
                Notification(
                    template=template,
                    template_version=template.live_version,
                    data=BENCH_DATA,
                    channels=[channel],
                    to={"email" if channel == "email" else "phone": addresses[i]},
                )
                for i in range(size)
            )
            messages = Message.objects.bulk_create(
                Message(notification=n, channel=channel, category=template.category, to=to_, locale="en")
                for n, to_ in zip(notifications, addresses, strict=True)
            )
            messages_transition(
                [Change(m.id, S.QUEUED) for m in messages], actor=Actor.system(), source="bench"
            )
        ids.extend(m.id for m in messages)
    return ids


class NotABenchDatabase(RuntimeError):
    pass


def bench_database_refusal(settings_dict: dict[str, object] | None = None) -> str:
    """Why the bench must not write to this database ("" when it may). The bench fills
    contacts, templates and broadcasts and cancels every message still waiting to be sent
    (``unsent_cancel``): on a hub's real database that would cancel its customers' messages.
    It runs on SQLite (a development checkout), on a database whose name says ``bench``
    (``switchboard_bench``, as docs/performance.md sets it) and on a test database."""
    db = settings_dict if settings_dict is not None else connection.settings_dict
    name = str(db.get("NAME") or "")
    if "sqlite" in str(db.get("ENGINE", "")) or "bench" in name or name.startswith("test_"):
        return ""
    return (
        f"The bench will not run on the database {name!r}: it writes data of its own and cancels "
        "every message still waiting to be sent. Give it a database of its own whose name says "
        "bench, e.g. DATABASE_URL=postgres://.../switchboard_bench (docs/performance.md)."
    )


def unsent_cancel(*, chunk: int = 2000) -> int:
    """Cancel every message still waiting to be sent (accepted, queued, deferred), through the
    real lifecycle; returns how many. A figure whose workers drain lanes (P7) would otherwise
    send, and count, what an earlier run left queued in the same database (the profilers
    accept messages that no worker sends)."""
    if refusal := bench_database_refusal():
        raise NotABenchDatabase(refusal)
    cancelled = 0
    waiting = [S.ACCEPTED, S.QUEUED, S.DEFERRED]
    while ids := list(Message.objects.filter(status__in=waiting).values_list("id", flat=True)[:chunk]):
        with transaction.atomic():
            result = messages_transition(
                [Change(i, S.CANCELLED, detail={"reason": "bench_leftover"}) for i in ids],
                actor=Actor.system(),
                source="bench",
            )
        if not result.applied:
            break
        cancelled += len(result.applied_ids)
    return cancelled
