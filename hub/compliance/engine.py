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


# Plain strings (not enum lookups) in the hot path.
_SUPPRESSION = str(RuleKind.SUPPRESSION.value)
_OPT_OUT = str(RuleKind.OPT_OUT.value)
_CONSENT = str(RuleKind.CONSENT_REQUIRED.value)
_COUNTRY = str(RuleKind.COUNTRY_ALLOW.value)
_CAP = str(RuleKind.FREQUENCY_CAP.value)
_QUIET = str(RuleKind.QUIET_HOURS.value)
_BLACKOUT = str(RuleKind.BLACKOUT.value)
_CONTENT = str(RuleKind.REQUIRED_CONTENT.value)
_DEFER = str(RuleEffect.DEFER.value)

# The SPEC §3 block reason each kind of rule gives.
BLOCK_REASONS: Mapping[str, str] = {
    _SUPPRESSION: "suppressed",
    _OPT_OUT: "opted_out",
    _CONSENT: "no_consent",
    _COUNTRY: "country_not_allowed",
    _CAP: "frequency_capped",
    _CONTENT: "content_rule",
}


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


@dataclass(slots=True)
class Decision:
    """The engine's answer. ``rules`` pairs each rule consulted with whether it applied."""

    outcome: str
    why: str = ""
    reason: str = ""
    not_before: datetime | None = None
    decided_by: str = ""
    rules: Sequence[tuple[RuleSpec, bool]] = ()
    inputs: Mapping[str, Any] = field(default_factory=dict)
    facts: Facts | None = None

    @property
    def sentence(self) -> str:
        """One sentence a person can read: which rule version decided, and why."""
        if self.outcome == Outcome.BLOCK:
            return f"blocked by {self.decided_by}: {self.why}"
        if self.outcome == Outcome.DEFER:
            due = f"{self.not_before:%Y-%m-%d %H:%M} UTC" if self.not_before else "later"
            return f"deferred by {self.decided_by}: {self.why}; due {due}"
        if self.rules:
            names = ", ".join(rule.label for rule, _ in self.rules)
            return f"allowed: {len(self.rules)} rules consulted ({names}), none applied"
        what = f"{self.facts.category} {self.facts.channel}" if self.facts else "this message"
        return f"allowed: no rule applies to {what}"

    def as_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "reason": self.reason,
            "not_before": self.not_before.isoformat() if self.not_before else None,
            "decided_by": self.decided_by,
            "rules": [
                {"rule": r.key, "version": r.version, "kind": r.kind, "effect": r.effect, "matched": m}
                for r, m in self.rules
            ],
            "inputs": dict(self.inputs),
            "sentence": self.sentence,
        }


def _consent_word(consent: bool | None) -> str:
    return "none" if consent is None else ("granted" if consent else "withdrawn")


def _check_block(rule: RuleSpec, facts: Facts, inputs: dict[str, Any]) -> str | None:
    """If this blocking rule stops the message, say why; else None."""
    kind = rule.kind
    if kind == _SUPPRESSION:
        inputs["suppressed"] = facts.suppressed is not None
        if facts.suppressed is not None:
            return f"the {facts.channel} address is suppressed ({facts.suppressed})"
    elif kind == _OPT_OUT:
        inputs["consent"] = _consent_word(facts.consent)
        if facts.consent is False:
            return f"the recipient withdrew {facts.category} {facts.channel} consent"
    elif kind == _CONSENT:
        inputs["consent"] = _consent_word(facts.consent)
        if facts.consent is None:
            return f"no {facts.category} {facts.channel} consent is recorded"
        if facts.consent is False:
            return f"{facts.category} {facts.channel} consent was withdrawn"
    elif kind == _COUNTRY:
        inputs["country"] = facts.country or "unknown"
        if facts.country not in rule.allowed:
            allowed = ", ".join(sorted(rule.allowed))
            return f"recipient country {facts.country or 'unknown'} is not in the allow-list ({allowed})"
    elif kind == _CAP:
        count = facts.cap_counts.get(rule.window_seconds, (0, None))[0]
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


def _next_allowed(rule: RuleSpec, facts: Facts, at: datetime) -> datetime:
    """The earliest time at or after ``at`` when this deferring rule is satisfied."""
    if rule.kind == _QUIET:
        return next_window_start(at, facts.zones, rule.window)
    if rule.kind == _BLACKOUT:
        for start, end in rule.periods:
            if start <= at < end:
                at = end
        return at
    # frequency cap with effect defer: free again when the oldest counted message leaves the window
    count, oldest = facts.cap_counts.get(rule.window_seconds, (0, None))
    if count >= rule.limit and oldest is not None:
        return max(at, oldest + timedelta(seconds=rule.window_seconds))
    return at


def _defer_why(rule: RuleSpec, facts: Facts, now: datetime) -> str:
    if rule.kind == _QUIET:
        where = next(z for z in facts.zones if not in_window(minute_of_day(now, z), rule.window))
        local = fmt_minutes(minute_of_day(now, where))
        return f"{local} {where} is outside {fmt_minutes(rule.window[0])}\u2013{fmt_minutes(rule.window[1])}"
    if rule.kind == _BLACKOUT:
        return f"{now:%Y-%m-%d %H:%M} UTC is inside a blackout window"
    count = facts.cap_counts.get(rule.window_seconds, (0, None))[0]
    return _cap_sentence(rule, facts, count)


@dataclass(frozen=True, slots=True)
class _Scoped:
    blocking: tuple[RuleSpec, ...]
    deferring: tuple[RuleSpec, ...]
    # Precomputed so the common case (no country scopes, no quiet hours) does no extra work.
    by_country: bool
    has_quiet: bool


# Rules that can apply to each (category, channel), per rule set: built once per rule set.
_index_cache: dict[int, tuple[Sequence[RuleSpec], dict[tuple[str, str], _Scoped]]] = {}


def _scoped(rules: Sequence[RuleSpec], category: str, channel: str) -> _Scoped:
    cached = _index_cache.get(id(rules))
    if cached is None or cached[0] is not rules:
        if len(_index_cache) > 32:
            _index_cache.clear()
        cached = (rules, {})
        _index_cache[id(rules)] = cached
    index = cached[1]
    scoped = index.get((category, channel))
    if scoped is None:
        fitting = [
            r
            for r in rules
            if r.kind != _CONTENT  # checked when a template version is submitted
            and (not r.category or r.category == category)
            and (not r.channel or r.channel == channel)
        ]
        timed = (_QUIET, _BLACKOUT)
        scoped = _Scoped(
            blocking=tuple(r for r in fitting if not (r.effect == _DEFER or r.kind in timed)),
            deferring=tuple(r for r in fitting if r.effect == _DEFER or r.kind in timed),
            by_country=any(r.countries for r in fitting),
            has_quiet=any(r.kind == _QUIET for r in fitting),
        )
        index[(category, channel)] = scoped
    return scoped


def decide(facts: Facts, rules: Sequence[RuleSpec], now: datetime) -> Decision:
    """Decide one message. ``rules`` come ordered from ``rules_current`` (blocks first)."""
    scoped = _scoped(rules, facts.category, facts.channel)
    consulted: list[tuple[RuleSpec, bool]] = []
    inputs: dict[str, Any] = {}
    country = facts.country
    by_country = scoped.by_country
    for rule in scoped.blocking:
        if by_country and rule.countries and country not in rule.countries:
            continue
        why = _check_block(rule, facts, inputs)
        if why:
            consulted.append((rule, True))
            return Decision(
                Outcome.BLOCK,
                why,
                BLOCK_REASONS[rule.kind],
                None,
                rule.label,
                consulted,
                inputs,
                facts,
            )
        consulted.append((rule, False))

    deferring = scoped.deferring
    if by_country:
        deferring = tuple(r for r in deferring if not r.countries or country in r.countries)
    if not deferring:
        return Decision(Outcome.ALLOW, "", "", None, "", consulted, inputs, facts)
    first: RuleSpec | None = None
    until = now
    matched: set[str] = set()
    if scoped.has_quiet:
        inputs["timezone"] = facts.zones[0] if len(facts.zones) == 1 else list(facts.zones)
        inputs["timezone_source"] = facts.zone_source
        inputs["local_time"] = fmt_minutes(minute_of_day(now, facts.zones[0]))
    for _ in range(8):  # move forward until every deferring rule is satisfied at once
        moved = False
        for rule in deferring:
            later = _next_allowed(rule, facts, until)
            if later > until:
                if first is None:
                    first = rule
                matched.add(rule.key)
                until, moved = later, True
        if not moved:
            break
    for rule in deferring:
        if rule.kind == _CAP:
            inputs["cap_count"] = facts.cap_counts.get(rule.window_seconds, (0, None))[0]
            inputs["cap_limit"] = rule.limit
        consulted.append((rule, rule.key in matched))
    if first is None:
        return Decision(Outcome.ALLOW, "", "", None, "", consulted, inputs, facts)
    return Decision(
        Outcome.DEFER, _defer_why(first, facts, now), "", until, first.label, consulted, inputs, facts
    )
