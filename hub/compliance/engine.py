"""The compliance engine: a pure function from (facts about one message, rule set, now) to a
decision with its reasons. No database, no clock, no I/O: callers load the facts for a whole
batch up front (see ``hub.messaging.decide``), so a decision costs microseconds.

A decision is ``allow``, ``block`` (with a SPEC §3 reason code) or ``defer`` (with the time
when every deferring rule is satisfied). It lists the rules consulted with their versions,
the inputs that mattered, and one sentence a person can read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hub.compliance.models import RuleEffect, RuleKind
from hub.compliance.rules import RuleSpec
from hub.compliance.windows import fmt_minutes, in_window, minute_of_day, next_window_start


class Outcome:
    ALLOW = "allow"
    BLOCK = "block"
    DEFER = "defer"


# The SPEC §3 block reason each kind of rule gives.
BLOCK_REASONS: Mapping[str, str] = {
    RuleKind.SUPPRESSION: "suppressed",
    RuleKind.OPT_OUT: "opted_out",
    RuleKind.CONSENT_REQUIRED: "no_consent",
    RuleKind.COUNTRY_ALLOW: "country_not_allowed",
    RuleKind.FREQUENCY_CAP: "frequency_capped",
    RuleKind.REQUIRED_CONTENT: "content_rule",
}
_TIMED = frozenset({RuleKind.QUIET_HOURS, RuleKind.BLACKOUT})


@dataclass(frozen=True, slots=True)
class Facts:
    """What the engine may know about one message; loaded in bulk by the caller."""

    channel: str
    category: str
    country: str = ""
    zones: tuple[str, ...] = ("UTC",)
    zone_source: str = "default"
    # The suppression reason if the address is suppressed on this channel.
    suppressed: str | None = None
    # Latest consent ledger entry for this contact x channel x category: None if there is none.
    consent: bool | None = None
    # Per cap window (seconds): messages already counted, and the oldest one's time.
    cap_counts: Mapping[int, tuple[int, datetime | None]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: str
    sentence: str
    reason: str = ""
    not_before: datetime | None = None
    decided_by: str = ""
    rules: tuple[Mapping[str, Any], ...] = ()
    inputs: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "reason": self.reason,
            "not_before": self.not_before.isoformat() if self.not_before else None,
            "decided_by": self.decided_by,
            "rules": [dict(r) for r in self.rules],
            "inputs": dict(self.inputs),
            "sentence": self.sentence,
        }


def _consent_word(consent: bool | None) -> str:
    return "none" if consent is None else ("granted" if consent else "withdrawn")


def _check_block(rule: RuleSpec, facts: Facts, inputs: dict[str, Any]) -> str | None:
    """If this blocking rule stops the message, say why; else None."""
    kind = rule.kind
    if kind == RuleKind.SUPPRESSION:
        inputs["suppressed"] = facts.suppressed is not None
        if facts.suppressed is not None:
            return f"the {facts.channel} address is suppressed ({facts.suppressed})"
    elif kind == RuleKind.OPT_OUT:
        inputs["consent"] = _consent_word(facts.consent)
        if facts.consent is False:
            return f"the recipient withdrew {facts.category} {facts.channel} consent"
    elif kind == RuleKind.CONSENT_REQUIRED:
        inputs["consent"] = _consent_word(facts.consent)
        if facts.consent is None:
            return f"no {facts.category} {facts.channel} consent is recorded"
        if facts.consent is False:
            return f"{facts.category} {facts.channel} consent was withdrawn"
    elif kind == RuleKind.COUNTRY_ALLOW:
        inputs["country"] = facts.country or "unknown"
        if facts.country not in rule.allowed:
            allowed = ", ".join(sorted(rule.allowed))
            return f"recipient country {facts.country or 'unknown'} is not in the allow-list ({allowed})"
    elif kind == RuleKind.FREQUENCY_CAP:
        count, _ = facts.cap_counts.get(rule.window_seconds, (0, None))
        inputs["cap_count"] = count
        inputs["cap_limit"] = rule.limit
        if count >= rule.limit:
            return _cap_sentence(rule, facts, count)
    return None


def _cap_sentence(rule: RuleSpec, facts: Facts, count: int) -> str:
    hours = rule.window_seconds / 3600
    window = f"{hours:g} hours" if hours % 24 else f"{hours / 24:g} days"
    return (
        f"{count} {facts.category} {facts.channel} messages in the last {window} "
        f"reach the cap of {rule.limit}"
    )


def _next_allowed(rule: RuleSpec, facts: Facts, at: datetime, now: datetime) -> datetime:
    """The earliest time at or after ``at`` when this deferring rule is satisfied."""
    if rule.kind == RuleKind.QUIET_HOURS:
        return next_window_start(at, facts.zones, rule.window)
    if rule.kind == RuleKind.BLACKOUT:
        for start, end in rule.periods:
            if start <= at < end:
                at = end
        return at
    # frequency cap with effect defer: free again when the oldest counted message leaves the window
    count, oldest = facts.cap_counts.get(rule.window_seconds, (0, None))
    if count >= rule.limit and oldest is not None:
        return max(at, oldest + timedelta(seconds=rule.window_seconds))
    return at


def _defer_sentence(rule: RuleSpec, facts: Facts, now: datetime) -> str:
    if rule.kind == RuleKind.QUIET_HOURS:
        where = next(z for z in facts.zones if not in_window(minute_of_day(now, z), rule.window))
        local = fmt_minutes(minute_of_day(now, where))
        return f"{local} {where} is outside {fmt_minutes(rule.window[0])}\u2013{fmt_minutes(rule.window[1])}"
    if rule.kind == RuleKind.BLACKOUT:
        return f"{now:%Y-%m-%d %H:%M} UTC is inside a blackout window"
    count, _ = facts.cap_counts.get(rule.window_seconds, (0, None))
    return _cap_sentence(rule, facts, count)


def decide(facts: Facts, rules: Sequence[RuleSpec], now: datetime) -> Decision:
    """Decide one message. ``rules`` come ordered from ``rules_current`` (blocks first)."""
    consulted: list[Mapping[str, Any]] = []
    inputs: dict[str, Any] = {}
    deferring: list[RuleSpec] = []
    for rule in rules:
        if rule.kind == RuleKind.REQUIRED_CONTENT:
            continue  # checked when a template version is submitted, not per message
        if not rule.applies_to(category=facts.category, channel=facts.channel, country=facts.country):
            continue
        if rule.effect == RuleEffect.DEFER or rule.kind in _TIMED:
            deferring.append(rule)
            continue
        why = _check_block(rule, facts, inputs)
        consulted.append(
            {"rule": rule.key, "version": rule.version, "effect": rule.effect, "matched": bool(why)}
        )
        if why:
            return Decision(
                outcome=Outcome.BLOCK,
                reason=BLOCK_REASONS[rule.kind],
                decided_by=rule.label,
                sentence=f"blocked by {rule.label}: {why}",
                rules=tuple(consulted),
                inputs=inputs,
            )

    first: RuleSpec | None = None
    until = now
    matched: set[str] = set()
    if deferring:
        if any(r.kind == RuleKind.QUIET_HOURS for r in deferring):
            inputs["timezone"] = facts.zones[0] if len(facts.zones) == 1 else list(facts.zones)
            inputs["timezone_source"] = facts.zone_source
            inputs["local_time"] = fmt_minutes(minute_of_day(now, facts.zones[0]))
        for _ in range(8):  # move forward until every deferring rule is satisfied at once
            moved = False
            for rule in deferring:
                later = _next_allowed(rule, facts, until, now)
                if later > until:
                    if first is None:
                        first = rule
                    matched.add(rule.label)
                    until, moved = later, True
            if not moved:
                break
        for rule in deferring:
            if rule.kind == RuleKind.FREQUENCY_CAP:
                inputs["cap_count"] = facts.cap_counts.get(rule.window_seconds, (0, None))[0]
                inputs["cap_limit"] = rule.limit
            consulted.append(
                {
                    "rule": rule.key,
                    "version": rule.version,
                    "effect": rule.effect,
                    "matched": rule.label in matched,
                }
            )

    if first is not None:
        return Decision(
            outcome=Outcome.DEFER,
            decided_by=first.label,
            not_before=until,
            sentence=f"deferred by {first.label}: {_defer_sentence(first, facts, now)}; "
            f"due {until:%Y-%m-%d %H:%M} UTC",
            rules=tuple(consulted),
            inputs=inputs,
        )
    names = ", ".join(f"{r['rule']} v{r['version']}" for r in consulted)
    return Decision(
        outcome=Outcome.ALLOW,
        sentence=f"allowed: {len(consulted)} rules consulted ({names}), none applied"
        if consulted
        else f"allowed: no rule applies to {facts.category} {facts.channel}",
        rules=tuple(consulted),
        inputs=inputs,
    )
