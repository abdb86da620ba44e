"""Our message statuses as GOV.UK Notify names them, and Notify's status filters as ours.

| Switchboard | Notify |
|---|---|
| accepted, queued, deferred | created |
| sending | sending |
| sent | sending (email), pending (SMS: the provider has it, no receipt yet) |
| delivered | delivered |
| undelivered | temporary-failure (the network could not reach the phone) |
| bounced | permanent-failure |
| blocked (a compliance decision) | permanent-failure (the reason is in our API) |
| failed | technical-failure |
| cancelled | cancelled |
"""

from __future__ import annotations

from django.db.models import Q

from hub.messaging.models import MessageStatus as S

_BY_STATUS: dict[str, str] = {
    S.ACCEPTED: "created",
    S.QUEUED: "created",
    S.DEFERRED: "created",
    S.SENDING: "sending",
    S.DELIVERED: "delivered",
    S.UNDELIVERED: "temporary-failure",
    S.BOUNCED: "permanent-failure",
    S.BLOCKED: "permanent-failure",
    S.FAILED: "technical-failure",
    S.CANCELLED: "cancelled",
}

NOTIFY_STATUSES = (
    "cancelled",
    "created",
    "sending",
    "sent",
    "delivered",
    "pending",
    "failed",
    "technical-failure",
    "temporary-failure",
    "permanent-failure",
    "pending-virus-check",
    "validation-failed",
    "virus-scan-failed",
    "returned-letter",
    "accepted",
    "received",
)
FAILURE_STATUSES = ("technical-failure", "temporary-failure", "permanent-failure")


def notify_status(*, status: str, channel: str) -> str:
    """What Notify calls a message in ``status`` on ``channel``."""
    if status == S.SENT:
        return "pending" if channel == "sms" else "sending"
    return _BY_STATUS.get(status, "created")


def status_filter(notify_statuses: list[str], *, prefix: str = "") -> Q:
    """A filter on messages (``prefix`` leads to the message from the queried model) that
    matches any of these Notify statuses; ``failed`` means any failure, as in Notify."""
    wanted = set(notify_statuses)
    if "failed" in wanted:
        wanted |= set(FAILURE_STATUSES)
    q = Q(pk__in=[])
    for ours, theirs in _BY_STATUS.items():
        if theirs in wanted:
            q |= Q(**{f"{prefix}status": ours})
    if "pending" in wanted:
        q |= Q(**{f"{prefix}status": S.SENT, f"{prefix}channel": "sms"})
    if "sending" in wanted:
        q |= Q(**{f"{prefix}status": S.SENT}) & ~Q(**{f"{prefix}channel": "sms"})
    return q
