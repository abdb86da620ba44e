"""The rule dry run: decide the last N days of messages again with a changed rule set and
count, by template and channel, how many the current and the changed rules block or defer.

Nothing is written. Each message is decided at the time it was created (quiet hours, blackout
windows); consent and suppressions are taken as they are now; frequency caps are replayed in
time order over the messages in the preview window.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from hub.compliance.engine import Facts, Outcome, decide
from hub.compliance.rules import RuleSpec
from hub.messaging.decide import batch_facts_load, cap_windows
from hub.messaging.models import Message


@dataclass
class PreviewRow:
    template: str
    channel: str
    total: int = 0
    now_blocked: int = 0
    now_deferred: int = 0
    then_blocked: int = 0
    then_deferred: int = 0
    changed: int = 0


@dataclass
class PreviewReport:
    days: int
    messages: int = 0
    truncated: bool = False
    rows: list[PreviewRow] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)

    @property
    def totals(self) -> PreviewRow:
        total = PreviewRow("all templates", "all channels")
        for row in self.rows:
            for name in ("total", "now_blocked", "now_deferred", "then_blocked", "then_deferred", "changed"):
                setattr(total, name, getattr(total, name) + getattr(row, name))
        return total


def _replay(
    items: Sequence[tuple[Message, Facts, tuple[int, str, str] | None]], rules: Sequence[RuleSpec]
) -> list[str]:
    """Decide every message in time order; frequency caps count the ones allowed before it."""
    windows = cap_windows(rules)
    sent: dict[tuple[int, str, str], list[datetime]] = defaultdict(list)
    outcomes: list[str] = []
    for message, facts, key in items:
        at = message.created_at
        if windows and key is not None:
            times = sent[key]
            counts: dict[int, tuple[int, datetime | None]] = {}
            for window in windows:
                first = bisect.bisect_right(times, at - timedelta(seconds=window))
                counts[window] = (len(times) - first, times[first] if first < len(times) else None)
            facts = replace(facts, cap_counts=counts)
        outcome = decide(facts, rules, at).outcome
        if outcome == Outcome.ALLOW and key is not None:
            sent[key].append(at)
        outcomes.append(outcome)
    return outcomes


def messages_preview_rules(
    *, current: Sequence[RuleSpec], proposed: Sequence[RuleSpec], days: int, now: datetime, limit: int = 50000
) -> PreviewReport:
    """Compare ``current`` and ``proposed`` on the messages created in the last ``days`` days
    (at most ``limit``, the most recent). Writes nothing."""
    report = PreviewReport(days=days)
    rows = list(
        Message.objects.filter(created_at__gte=now - timedelta(days=days))
        .exclude(to="")
        .select_related("notification__contact", "notification__template")
        .order_by("-created_at")[: limit + 1]
    )
    report.truncated = len(rows) > limit
    messages = sorted(rows[:limit], key=lambda m: m.created_at)
    report.messages = len(messages)
    contacts = {m.id: m.notification.contact for m in messages}
    loaded = batch_facts_load(messages, contacts)
    items = []
    for m in messages:
        contact = contacts[m.id]
        key = (contact.pk, m.channel, m.category) if contact else None
        items.append((m, loaded.facts(m, contact, {}), key))
    before = _replay(items, current)
    after = _replay(items, proposed)
    table: dict[tuple[str, str], PreviewRow] = {}
    for (message, _, _), was, will in zip(items, before, after, strict=True):
        name = message.notification.template.key
        row = table.setdefault((name, message.channel), PreviewRow(name, message.channel))
        row.total += 1
        row.now_blocked += was == Outcome.BLOCK
        row.now_deferred += was == Outcome.DEFER
        row.then_blocked += will == Outcome.BLOCK
        row.then_deferred += will == Outcome.DEFER
        row.changed += was != will
    report.rows = sorted(table.values(), key=lambda r: (r.template, r.channel))
    return report
