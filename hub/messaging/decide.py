"""Compliance decisions for messages: load the facts of a whole batch in a fixed number of
queries, ask the engine (``hub.compliance.engine``) about each message, and turn each decision
into a lifecycle change that carries it (``decision``, ``decided_by``, ``block_reason``,
``not_before``). Accept calls this for new messages, the scheduler for deferred ones when due.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Min

from hub.compliance.engine import Decision, Facts, Outcome, decide
from hub.compliance.models import RuleKind
from hub.compliance.rules import RuleSpec, rules_current
from hub.contacts.models import Contact
from hub.contacts.selectors import consent_states, phone_country, recipient_zones, suppressions_active
from hub.messaging.lifecycle import Change
from hub.messaging.models import BlockReason, Message
from hub.messaging.models import MessageStatus as S

# Messages that count towards a frequency cap: everything that went, or is going, out.
CAP_COUNTED = (S.QUEUED, S.SENDING, S.SENT, S.DELIVERED, S.UNDELIVERED, S.BOUNCED)
CapKey = tuple[int, str, str]  # contact id, channel, category


def cap_windows(rules: Sequence[RuleSpec]) -> set[int]:
    return {r.window_seconds for r in rules if r.kind == RuleKind.FREQUENCY_CAP}


@dataclass
class BatchFacts:
    """Everything the engine needs about a batch of messages, loaded up front."""

    consent: Mapping[tuple[int, str, str], bool]
    suppressed: Mapping[tuple[str, str], str]
    default_zone: str

    def facts(
        self,
        message: Message,
        contact: Contact | None,
        cap_counts: Mapping[int, tuple[int, datetime | None]],
    ) -> Facts:
        phone = message.to if message.channel == "sms" else (contact.phone if contact else "")
        zones, source = recipient_zones(
            timezone_name=contact.timezone if contact else "", phone=phone, default=self.default_zone
        )
        return Facts(
            channel=message.channel,
            category=message.category,
            country=phone_country(phone),
            zones=zones,
            zone_source=source,
            suppressed=self.suppressed.get((message.channel, message.to)),
            consent=self.consent.get((contact.pk, message.channel, message.category)) if contact else None,
            cap_counts=cap_counts,
        )


def batch_facts_load(messages: Sequence[Message], contacts: Mapping[Any, Contact | None]) -> BatchFacts:
    """Consent state and suppressions for these messages: two queries whatever the batch size."""
    contact_ids = [c.pk for c in contacts.values() if c is not None]
    return BatchFacts(
        consent=consent_states(contact_ids=contact_ids),
        suppressed=suppressions_active(pairs={(m.channel, m.to) for m in messages if m.to}),
        default_zone=settings.HUB_DEFAULT_TIMEZONE,
    )


def cap_counts_load(
    contact_ids: Sequence[int], windows: set[int], *, now: datetime
) -> dict[CapKey, dict[int, tuple[int, datetime | None]]]:
    """Messages per contact x channel x category in each cap window: one query per window."""
    counts: dict[CapKey, dict[int, tuple[int, datetime | None]]] = defaultdict(dict)
    if not contact_ids:
        return counts
    for window in windows:
        rows = (
            Message.objects.filter(
                notification__contact_id__in=set(contact_ids),
                status__in=CAP_COUNTED,
                created_at__gte=now - timedelta(seconds=window),
            )
            .values_list("notification__contact_id", "channel", "category")
            .annotate(n=Count("id"), oldest=Min("created_at"))
            .order_by()
        )
        for contact_id, channel, category, n, oldest in rows:
            counts[(contact_id, channel, category)][window] = (n, oldest)
    return counts


def decision_change(message: Message, decision: Decision, *, send_at: datetime | None = None) -> Change:
    """The lifecycle change that applies a decision; an allowed message waits for ``send_at``."""
    fields: dict[str, Any] = {"decision": decision.as_json(), "decided_by": decision.decided_by}
    if decision.outcome == Outcome.BLOCK:
        return Change(message.id, S.BLOCKED, {**fields, "block_reason": decision.reason})
    due = decision.not_before if decision.outcome == Outcome.DEFER else None
    if send_at is not None and (due is None or send_at > due):
        due = send_at
        # Waiting for the caller's send_at, not for a rule: say so (it is decided again then).
        fields["decision"]["sentence"] = (
            f"scheduled for send_at {send_at:%Y-%m-%d %H:%M} UTC (decided again then); {decision.sentence}"
        )
    if due is not None:
        return Change(message.id, S.DEFERRED, {**fields, "not_before": due})
    return Change(message.id, S.QUEUED, {**fields, "not_before": None})


def no_address_change(message: Message) -> Change:
    sentence = f"blocked: there is no {message.channel} address for this recipient"
    decision = {"outcome": Outcome.BLOCK, "reason": BlockReason.NO_ADDRESS, "rules": [], "inputs": {}}
    return Change(
        message.id,
        S.BLOCKED,
        {"block_reason": BlockReason.NO_ADDRESS, "decision": {**decision, "sentence": sentence}},
    )


def messages_decide(
    messages: Sequence[Message],
    *,
    contacts: Mapping[Any, Contact | None],
    now: datetime,
    send_at: datetime | None = None,
    send_at_of: Mapping[Any, datetime | None] | None = None,
    rules: Sequence[RuleSpec] | None = None,
) -> list[Change]:
    """Decide each message and return the lifecycle changes, in order.

    ``contacts`` maps each message id to its contact (None for inline addresses). The cost is
    a fixed number of queries (rules, consent, suppressions, one per cap window), never one
    per message or per rule. Messages allowed earlier in the batch count towards caps of the
    later ones. An allowed message waits for ``send_at`` (or its own, in ``send_at_of``).
    """
    rule_set = tuple(rules) if rules is not None else rules_current()
    loaded = batch_facts_load(messages, contacts)
    windows = cap_windows(rule_set)
    contact_ids = [c.pk for c in contacts.values() if c is not None]
    counts = cap_counts_load(contact_ids, windows, now=now) if windows else {}
    changes: list[Change] = []
    for message in messages:
        if not message.to:
            changes.append(no_address_change(message))
            continue
        contact = contacts.get(message.id)
        key = (contact.pk, message.channel, message.category) if contact else None
        cap = counts.get(key, {}) if key else {}
        decision = decide(loaded.facts(message, contact, cap), rule_set, now)
        due = send_at_of.get(message.id) if send_at_of is not None else send_at
        change = decision_change(message, decision, send_at=due)
        if key is not None and windows and change.to == S.QUEUED:
            counts[key] = {w: (cap.get(w, (0, now))[0] + 1, cap.get(w, (0, now))[1] or now) for w in windows}
        changes.append(change)
    return changes
