"""Decision throughput, for ``manage.py bench``: the pure engine over prepared facts.

Facts are built up front (as ``hub.messaging.decide`` loads them for a batch), so this
measures the engine alone, on one core, with the baseline-like rule set plus a frequency cap.
"""

from __future__ import annotations

import gc
import random
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hub.compliance.engine import Facts, decide
from hub.compliance.rules import RuleSpec, order_specs, rule_spec_parse

ZONES = ("Europe/London", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "Europe/Berlin")


@dataclass(frozen=True)
class BenchResult:
    decisions: int
    seconds: float
    outcomes: dict[str, int]

    @property
    def per_second(self) -> float:
        return self.decisions / self.seconds if self.seconds else 0.0


def bench_rules() -> tuple[RuleSpec, ...]:
    def spec(key: str, kind: str, effect: str, **kw: object) -> RuleSpec:
        return rule_spec_parse(key=key, version=1, kind=kind, effect=effect, **kw)  # type: ignore[arg-type]

    return order_specs(
        [
            spec("suppression", "suppression", "block"),
            spec("opt_out", "opt_out", "block"),
            spec("marketing_consent", "consent_required", "block", category="marketing"),
            spec(
                "quiet_hours_marketing_sms",
                "quiet_hours",
                "defer",
                category="marketing",
                channel="sms",
                params={"start": "08:00", "end": "21:00"},
            ),
            spec(
                "marketing_cap",
                "frequency_cap",
                "block",
                category="marketing",
                params={"limit": 5, "window_hours": 168},
            ),
            spec(
                "sms_countries",
                "country_allow",
                "block",
                channel="sms",
                params={"allowed": ["GB", "US", "DE"]},
            ),
        ]
    )


def bench_facts(count: int, seed: int = 7) -> list[Facts]:
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
    window = 7 * 24 * 3600
    facts = []
    for _ in range(count):
        facts.append(
            Facts(
                channel=rng.choice(("sms", "email", "push")),
                category=rng.choice(("marketing", "transactional")),
                country=rng.choice(("GB", "US", "DE", "FR")),
                zones=(rng.choice(ZONES),),
                zone_source="contact",
                suppressed="complaint" if rng.random() < 0.02 else None,
                consent=rng.choice((True, True, True, False, None)),
                cap_counts={window: (rng.randint(0, 6), None)},
            )
        )
    return facts


def bench_decisions(count: int = 200_000, *, now: datetime | None = None, repeat: int = 3) -> BenchResult:
    """Time ``count`` decisions, best of ``repeat`` runs with the garbage collector paused (as
    ``timeit`` does); returns decisions/s and how they came out."""
    rules = bench_rules()
    facts = bench_facts(count)
    start_at = now or datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # a DST change in Europe
    moments = [start_at + timedelta(minutes=17 * i) for i in range(97)]
    pairs = [(item, moments[index % 97]) for index, item in enumerate(facts)]
    best = float("inf")
    outcomes: dict[str, int] = {}
    for _ in range(max(1, repeat)):
        gc.disable()
        try:
            started = time.perf_counter()
            decisions = [decide(item, rules, at) for item, at in pairs]
            best = min(best, time.perf_counter() - started)
        finally:
            gc.enable()
        outcomes = dict(Counter(d.outcome for d in decisions))
        del decisions
    return BenchResult(count, best, outcomes)
