"""Reading broadcasts and their live progress."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import Count, Min

from hub.apikeys.models import ApiKey
from hub.broadcasts.models import Broadcast, BroadcastRecipient, BroadcastStatus, RecipientState
from hub.messaging.models import BlockReason, Message
from hub.messaging.models import MessageStatus as S

IN_FLIGHT = {S.ACCEPTED, S.QUEUED, S.DEFERRED, S.SENDING}
FAILED = {S.FAILED, S.UNDELIVERED, S.BOUNCED}
BLOCK_LABELS = dict(BlockReason.choices)


def broadcast_get(*, broadcast_id: UUID, api_key: ApiKey) -> Broadcast | None:
    """The broadcast, if this key created it."""
    return Broadcast.objects.select_related("template").filter(id=broadcast_id, api_key=api_key).first()


def broadcast_progress(*, broadcast: Broadcast) -> dict[str, Any]:
    """Live counts, from two grouped queries.

    ``total``: recipients to send to (valid rows); ``pending``: not yet released; ``skipped``:
    rows left out (invalid, duplicate, unknown contact); then the released messages by status:
    ``queued`` (still on their way), ``sent``, ``delivered``, ``blocked`` (by reason),
    ``failed`` (failed, undelivered, bounced), ``cancelled``. ``percent`` is the share of
    rows finished (skipped, or every message final); ``done`` says nothing more will change.
    """
    states = dict(
        BroadcastRecipient.objects.filter(broadcast=broadcast)
        .values_list("state")
        .annotate(n=Count("id"))
        .values_list("state", "n")
    )
    counts = {"queued": 0, "sent": 0, "delivered": 0, "failed": 0, "cancelled": 0}
    blocked: dict[str, int] = {}
    rows = (
        Message.objects.filter(notification__broadcast_recipient__broadcast=broadcast)
        .values_list("status", "block_reason")
        .annotate(n=Count("id"))
        .values_list("status", "block_reason", "n")
    )
    for status, reason, n in rows:
        if status in IN_FLIGHT:
            counts["queued"] += n
        elif status == S.SENT:
            counts["sent"] += n
        elif status == S.DELIVERED:
            counts["delivered"] += n
        elif status in FAILED:
            counts["failed"] += n
        elif status == S.CANCELLED:
            counts["cancelled"] += n
        elif status == S.BLOCKED:
            blocked[reason or "unknown"] = blocked.get(reason or "unknown", 0) + n
    pending = states.get(RecipientState.PENDING, 0)
    skipped = states.get(RecipientState.SKIPPED, 0)
    rows_total = sum(states.values())
    unfinished_messages = counts["queued"] + counts["sent"]
    finished = max(0, rows_total - pending - states.get(RecipientState.RELEASED, 0)) + max(
        0, states.get(RecipientState.RELEASED, 0) - unfinished_messages
    )
    ended = broadcast.status in {BroadcastStatus.COMPLETED, BroadcastStatus.CANCELLED}
    done = ended and pending == 0 and counts["queued"] == 0
    made = sum(counts.values()) + sum(blocked.values())
    went_out = counts["sent"] + counts["delivered"]
    return {
        "total": broadcast.total,
        "rows": rows_total,
        "pending": pending,
        "skipped": skipped,
        "released": states.get(RecipientState.RELEASED, 0),
        **counts,
        "blocked": blocked,
        "blocked_total": sum(blocked.values()),
        "percent": 100 if done else (min(99, int(100 * finished / rows_total)) if rows_total else 0),
        "done": done,
        # Messages, counted apart from recipients (a recipient may get one per channel).
        "messages": made,
        "went_out": went_out,
        "sent_percent": int(100 * went_out / made) if made else 0,
        "blocked_labels": {str(BLOCK_LABELS.get(k, k)): n for k, n in blocked.items()},
    }


def broadcast_progress_summary(progress: dict[str, Any], status: str) -> str:
    """The progress in one honest sentence: recipients and messages apart, and a broadcast
    that sent nothing says so (never "100 %")."""
    recipients = (
        f"{progress['rows']} recipients: {progress['released']} released, {progress['pending']} waiting, "
        f"{progress['skipped']} skipped"
    )
    blocked = ", ".join(f"{label} {n}" for label, n in progress["blocked_labels"].items())
    messages = (
        f"{progress['messages']} messages: {progress['queued']} on their way, {progress['sent']} sent, "
        f"{progress['delivered']} delivered, {progress['blocked_total']} blocked"
        + (f" ({blocked})" if blocked else "")
        + f", {progress['failed']} failed"
    )
    if progress["done"]:
        if progress["went_out"] == 0:
            head = f"{status.capitalize()}: nothing was sent"
        else:
            head = (
                f"{status.capitalize()}: {progress['went_out']} of {progress['messages']} messages went out"
            )
    else:
        head = f"{status.capitalize()}: {progress['percent']} % processed"
    return f"{head}. {recipients}. {messages}."


def broadcast_skipped_reasons(*, broadcast: Broadcast, limit: int = 20) -> list[tuple[int, str, int]]:
    """The skipped rows grouped by their reason in words: (count, reason, first row), most
    frequent first."""
    return [
        (n, error, first)
        for error, n, first in BroadcastRecipient.objects.filter(
            broadcast=broadcast, state=RecipientState.SKIPPED
        )
        .values_list("error")
        .annotate(n=Count("id"), first=Min("row"))
        .values_list("error", "n", "first")
        .order_by("-n", "first")[:limit]
    ]
