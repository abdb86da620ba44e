"""Rule versions as plain, immutable specs the engine can evaluate without the database.

``rule_spec_parse`` validates a version's parameters (the admin form uses it, so bad input is a
form error) and turns them into typed fields once, not on every decision. ``rules_current``
returns the enabled latest versions, cached in the process and reloaded when any rule changes.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Max

from hub.compliance.models import RuleEffect, RuleKind, RuleVersion
from hub.generations import GenerationCache, generation

CATEGORIES = ("transactional", "marketing")
CHANNELS = ("sms", "email", "push")
# Which effects make sense for each kind: a block needs a reason code from SPEC §3, a defer
# needs a time at which the rule would be satisfied.
ALLOWED_EFFECTS: Mapping[str, frozenset[str]] = {
    RuleKind.SUPPRESSION: frozenset({RuleEffect.BLOCK}),
    RuleKind.OPT_OUT: frozenset({RuleEffect.BLOCK}),
    RuleKind.CONSENT_REQUIRED: frozenset({RuleEffect.BLOCK}),
    RuleKind.COUNTRY_ALLOW: frozenset({RuleEffect.BLOCK}),
    RuleKind.REQUIRED_CONTENT: frozenset({RuleEffect.BLOCK}),
    RuleKind.QUIET_HOURS: frozenset({RuleEffect.DEFER}),
    RuleKind.BLACKOUT: frozenset({RuleEffect.DEFER}),
    RuleKind.FREQUENCY_CAP: frozenset({RuleEffect.BLOCK, RuleEffect.DEFER}),
}
# Evaluation order: hard blocks first, then the rules that can only delay a message.
KIND_ORDER = (
    RuleKind.SUPPRESSION,
    RuleKind.OPT_OUT,
    RuleKind.CONSENT_REQUIRED,
    RuleKind.COUNTRY_ALLOW,
    RuleKind.FREQUENCY_CAP,
    RuleKind.BLACKOUT,
    RuleKind.QUIET_HOURS,
    RuleKind.REQUIRED_CONTENT,
)


@dataclass(frozen=True, slots=True)
class RuleSpec:
    key: str
    version: int
    kind: str
    effect: str
    category: str = ""
    channel: str = ""
    countries: frozenset[str] = frozenset()
    # quiet_hours: the allowed local window [start, end), minutes after midnight.
    window: tuple[int, int] = (0, 0)
    # frequency_cap
    limit: int = 0
    window_seconds: int = 0
    # country_allow
    allowed: frozenset[str] = frozenset()
    # blackout: (start, end) in UTC, sorted
    periods: tuple[tuple[datetime, datetime], ...] = ()
    # required_content: (label, any_of texts, patterns); fields to look in
    required: tuple[tuple[str, tuple[str, ...], tuple[re.Pattern[str], ...]], ...] = ()
    fields: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def label(self) -> str:
        return f"{self.key} v{self.version}"

    def __hash__(self) -> int:
        return hash((self.key, self.version))

    def applies_to(self, *, category: str, channel: str, country: str) -> bool:
        return (
            (not self.category or self.category == category)
            and (not self.channel or self.channel == channel)
            and (not self.countries or country in self.countries)
        )


def _minutes(value: Any, name: str) -> int:
    try:
        parsed = time.fromisoformat(str(value))
    except ValueError as exc:
        raise ValidationError({"params": f"'{name}' must be a time of day like 08:00."}) from exc
    return parsed.hour * 60 + parsed.minute


def _aware(value: Any, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise ValidationError({"params": f"'{name}' must be an ISO 8601 date-time."}) from exc
    if parsed.tzinfo is None:
        raise ValidationError({"params": f"'{name}' needs a UTC offset, e.g. 2026-12-24T00:00:00+00:00."})
    return parsed


def rule_spec_parse(
    *,
    key: str,
    version: int,
    kind: str,
    effect: str,
    category: str = "",
    channel: str = "",
    countries: Sequence[str] = (),
    params: Mapping[str, Any] | None = None,
) -> RuleSpec:
    """Validate one rule version and return its spec; raises ValidationError naming the field."""
    params = dict(params or {})
    if kind not in RuleKind.values:
        raise ValidationError({"kind": f"Unknown rule kind '{kind}'."})
    if effect not in ALLOWED_EFFECTS[kind]:
        allowed = " or ".join(sorted(ALLOWED_EFFECTS[kind]))
        raise ValidationError({"effect": f"A {kind} rule can only {allowed}."})
    if category and category not in CATEGORIES:
        raise ValidationError({"category": f"Use one of {', '.join(CATEGORIES)}, or leave it empty."})
    if channel and channel not in CHANNELS:
        raise ValidationError({"channel": f"Use one of {', '.join(CHANNELS)}, or leave it empty."})
    codes = frozenset(str(c).upper() for c in countries)
    if any(len(c) != 2 or not c.isalpha() for c in codes):
        raise ValidationError({"countries": "Use two-letter ISO 3166 country codes, e.g. GB."})
    extra: dict[str, Any] = {}
    if kind == RuleKind.QUIET_HOURS:
        start, end = _minutes(params.get("start"), "start"), _minutes(params.get("end"), "end")
        if start == end:
            raise ValidationError({"params": "The allowed window must not be empty: start and end differ."})
        extra["window"] = (start, end)
    elif kind == RuleKind.FREQUENCY_CAP:
        try:
            limit, hours = int(params["limit"]), float(params["window_hours"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(
                {"params": "A frequency cap needs 'limit' and 'window_hours' numbers."}
            ) from exc
        if limit < 1 or hours <= 0:
            raise ValidationError({"params": "'limit' must be at least 1 and 'window_hours' positive."})
        extra.update(limit=limit, window_seconds=int(hours * 3600))
    elif kind == RuleKind.COUNTRY_ALLOW:
        listed = params.get("allowed")
        if not isinstance(listed, list) or not listed:
            raise ValidationError(
                {"params": "A country allow-list needs 'allowed': a list of country codes."}
            )
        extra["allowed"] = frozenset(str(c).upper() for c in listed)
    elif kind == RuleKind.BLACKOUT:
        periods = params.get("periods")
        if not isinstance(periods, list) or not periods:
            raise ValidationError({"params": "A blackout needs 'periods': [{start, end}, ...]."})
        parsed = []
        for period in periods:
            if not isinstance(period, Mapping):
                raise ValidationError({"params": "Each blackout period is {start, end}."})
            start_at, end_at = _aware(period.get("start"), "start"), _aware(period.get("end"), "end")
            if end_at <= start_at:
                raise ValidationError({"params": "A blackout period must end after it starts."})
            parsed.append((start_at, end_at))
        extra["periods"] = tuple(sorted(parsed))
    elif kind == RuleKind.REQUIRED_CONTENT:
        required = params.get("required")
        if not isinstance(required, list) or not required:
            raise ValidationError({"params": "Required content needs 'required': [{label, any_of: [...]}]."})
        items = []
        for item in required:
            if (
                not isinstance(item, Mapping)
                or not item.get("label")
                or not (item.get("any_of") or item.get("patterns"))
            ):
                raise ValidationError(
                    {"params": "Each required item is {label, any_of: [text, ...], patterns: [regex, ...]}."}
                )
            try:
                patterns = tuple(re.compile(str(p), re.IGNORECASE) for p in item.get("patterns") or ())
            except re.error as exc:
                raise ValidationError({"params": f"Not a valid regular expression: {exc}."}) from exc
            items.append((str(item["label"]), tuple(str(t) for t in item.get("any_of") or ()), patterns))
        extra["required"] = tuple(items)
        extra["fields"] = tuple(params.get("fields") or ("subject", "html", "text", "title"))
    return RuleSpec(
        key=key,
        version=version,
        kind=kind,
        effect=effect,
        category=category,
        channel=channel,
        countries=codes,
        params=params,
        **extra,
    )


def spec_from_version(version: RuleVersion) -> RuleSpec:
    return rule_spec_parse(
        key=version.rule.key,
        version=version.number,
        kind=version.rule.kind,
        effect=version.effect,
        category=version.category,
        channel=version.channel,
        countries=version.countries,
        params=version.params,
    )


def order_specs(specs: Sequence[RuleSpec]) -> tuple[RuleSpec, ...]:
    return tuple(sorted(specs, key=lambda s: (KIND_ORDER.index(s.kind), s.key)))


def rules_load() -> tuple[RuleSpec, ...]:
    """The latest version of every rule whose latest version is enabled, in evaluation order."""
    latest: dict[int, RuleVersion] = {}
    for version in RuleVersion.objects.select_related("rule").order_by("rule_id", "number"):
        latest[version.rule_id] = version
    return order_specs([spec_from_version(v) for v in latest.values() if v.enabled])


RULES_GENERATION = "compliance_rules"
_CACHED: GenerationCache[tuple[RuleSpec, ...]] = GenerationCache(RULES_GENERATION, size=1)

_cache_lock = threading.Lock()
_cache: dict[str, Any] = {"marker": None, "rules": ()}


def rules_current() -> tuple[RuleSpec, ...]:
    """The live rule set. With a shared cache, from this process's copy while the rules'
    generation holds (``hub.generations``: a rule or version saved or deleted bumps it, in
    every process at once): no query. Without one, one cheap query per call checks whether any
    rule changed (in any process); the rules themselves are loaded again only then."""
    current = generation(RULES_GENERATION)
    if current is not None:
        cached = _CACHED.get("rules", current)
        if cached is None:
            cached = rules_load()
            _CACHED.put("rules", cached, current)
        return cached
    # Versions are append-only, so the newest id and time change whenever any rule changes.
    latest = RuleVersion.objects.aggregate(last=Max("id"), at=Max("created_at"))
    marker = (latest["last"], latest["at"])
    with _cache_lock:
        if _cache["marker"] == marker and latest["last"] is not None:
            rules: tuple[RuleSpec, ...] = _cache["rules"]
            return rules
    rules = rules_load()
    with _cache_lock:
        _cache.update(marker=marker, rules=rules)
    return rules


def rules_cache_clear() -> None:
    _CACHED.clear()
    with _cache_lock:
        _cache.update(marker=None, rules=())
