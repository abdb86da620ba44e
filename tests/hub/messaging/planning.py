"""How PostgreSQL plans the statements a call makes, on a queue its statistics do not know.

The hub's statements name messages by id; compared with a status as well, a statement lets the
planner reach the messages by status instead (the status indexes, the partial index of the
queued), one step a queued message, wherever its statistics put few in the queue: they are
gathered at some quiet moment (autovacuum's ANALYZE), and a backlog is exactly when they are
wrong. On the bench's database a claim of 100 with 20,000 queued took 606 ms that way, 0.2 ms
by key. ``queue_unknown`` makes such a queue on a table without statistics, with sequential
and bitmap scans off so that the planner chooses between indexes; ``plans_of`` runs a call
and EXPLAINs each statement it made.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection

from hub.messaging.models import Message, Notification
from hub.messaging.models import MessageStatus as S


def queue_unknown(template: Any, count: int = 2000) -> list[Message]:
    notification = Notification.objects.create(template=template, template_version=template.live_version)
    messages = Message.objects.bulk_create(
        Message(notification=notification, channel="sms", category="transactional", to="+447911123456",
                status=S.SENT)
        for _ in range(count)
    )  # fmt: skip
    Message.objects.filter(notification=notification).update(status=S.QUEUED)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
    return messages


def plans_of(call: Callable[[], Any]) -> list[str]:
    """The plan of each SELECT and UPDATE ``call`` made on the messages, in order."""
    statements: list[tuple[str, Any]] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        call()
    plans = []
    with connection.cursor() as cursor:
        for sql, params in statements:
            if '"messaging_message"' in sql and sql.lstrip().upper().startswith(("SELECT", "UPDATE")):
                cursor.execute(f"EXPLAIN {sql}", params)
                plans.append("\n".join(row[0] for row in cursor.fetchall()))
    return plans


def by_key(plan: str) -> bool:
    """The plan reads the messages by key, never by status."""
    return "messaging_message_pkey" in plan and "message_status" not in plan and "message_queued" not in plan
