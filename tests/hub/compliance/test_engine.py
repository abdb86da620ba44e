"""The engine is a pure function: facts + rule set + now -> allow, block (SPEC reason) or defer,
with the rules consulted, the inputs that mattered, and one readable sentence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from hub.compliance.engine import Facts, Outcome, decide
from hub.compliance.rules import order_specs, rule_spec_parse


def spec(key, kind, effect="block", version=1, **kw):
    return rule_spec_parse(key=key, version=version, kind=kind, effect=effect, **kw)


BASELINE = order_specs(
    [
        spec("suppression", "suppression"),
        spec("opt_out", "opt_out"),
        spec("marketing_consent", "consent_required", category="marketing"),
        spec(
            "quiet_hours_marketing_sms",
            "quiet_hours",
            "defer",
            version=3,
            category="marketing",
            channel="sms",
            params={"start": "08:00", "end": "21:00"},
        ),
    ]
)
LONDON_EVENING = datetime(2026, 1, 15, 22, 14, tzinfo=UTC)  # 22:14 in London (GMT)
LONDON_NOON = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def facts(**kw):
    base = {
        "channel": "sms",
        "category": "marketing",
        "country": "GB",
        "zones": ("Europe/London",),
        "consent": True,
    }
    return Facts(**{**base, **kw})


def test_quiet_hours_defer_reads_as_one_sentence_naming_rule_version_and_local_time():
    decision = decide(facts(), BASELINE, LONDON_EVENING)
    assert decision.outcome == Outcome.DEFER
    assert decision.decided_by == "quiet_hours_marketing_sms v3"
    assert decision.sentence.startswith(
        "deferred by quiet_hours_marketing_sms v3: 22:14 Europe/London is outside 08:00\u201321:00"
    )
    assert decision.not_before == datetime(2026, 1, 16, 8, 0, tzinfo=UTC)
    body = decision.as_json()
    assert body["inputs"]["local_time"] == "22:14"
    assert body["inputs"]["consent"] == "granted"
    assert {(r["rule"], r["version"], r["matched"]) for r in body["rules"]} >= {
        ("quiet_hours_marketing_sms", 3, True),
        ("marketing_consent", 1, False),
    }


@pytest.mark.parametrize(
    ("kw", "reason", "rule"),
    [
        ({"suppressed": "complaint"}, "suppressed", "suppression v1"),
        ({"consent": False}, "opted_out", "opt_out v1"),
        ({"consent": None}, "no_consent", "marketing_consent v1"),
    ],
)
def test_blocks_carry_the_spec_reason_code_and_the_deciding_rule(kw, reason, rule):
    decision = decide(facts(**kw), BASELINE, LONDON_NOON)
    assert (decision.outcome, decision.reason, decision.decided_by) == (Outcome.BLOCK, reason, rule)
    assert decision.sentence.startswith(f"blocked by {rule}: ")


def test_transactional_is_exempt_from_marketing_rules_by_scope_only():
    """No consent, late at night: a transactional SMS is still allowed, because the marketing
    rules' scope does not cover it. A suppression still blocks it."""
    decision = decide(facts(category="transactional", consent=None), BASELINE, LONDON_EVENING)
    assert decision.outcome == Outcome.ALLOW
    assert [r["rule"] for r in decision.as_json()["rules"]] == ["suppression", "opt_out"]
    blocked = decide(facts(category="transactional", suppressed="hard_bounce"), BASELINE, LONDON_NOON)
    assert blocked.reason == "suppressed"


def test_allowed_marketing_sms_in_window():
    decision = decide(facts(), BASELINE, LONDON_NOON)
    assert decision.outcome == Outcome.ALLOW
    assert decision.sentence.startswith("allowed: 4 rules consulted")


def test_country_allow_list_blocks_sms_outside_it():
    rules = order_specs(
        [*BASELINE, spec("sms_countries", "country_allow", channel="sms", params={"allowed": ["GB"]})]
    )
    decision = decide(facts(country="US", zones=("America/New_York",)), rules, LONDON_NOON)
    assert decision.reason == "country_not_allowed"
    assert "US is not in the allow-list (GB)" in decision.sentence


def test_rule_scoped_to_a_country_applies_only_there():
    rules = order_specs([spec("us_consent", "consent_required", category="transactional", countries=["US"])])
    assert (
        decide(facts(category="transactional", consent=None, country="GB"), rules, LONDON_NOON).outcome
        == "allow"
    )
    assert (
        decide(facts(category="transactional", consent=None, country="US"), rules, LONDON_NOON).outcome
        == "block"
    )


def test_frequency_cap_blocks_at_the_limit_and_can_defer_until_a_slot_frees():
    window = 24 * 3600
    oldest = LONDON_NOON - timedelta(hours=20)
    cap = spec("cap", "frequency_cap", category="marketing", params={"limit": 2, "window_hours": 24})
    under = facts(cap_counts={window: (1, oldest)})
    at_limit = facts(cap_counts={window: (2, oldest)})
    assert decide(under, [cap], LONDON_NOON).outcome == Outcome.ALLOW
    blocked = decide(at_limit, [cap], LONDON_NOON)
    assert (blocked.reason, blocked.as_json()["inputs"]["cap_count"]) == ("frequency_capped", 2)
    deferring = spec(
        "cap", "frequency_cap", "defer", category="marketing", params={"limit": 2, "window_hours": 24}
    )
    deferred = decide(at_limit, [deferring], LONDON_NOON)
    assert deferred.outcome == Outcome.DEFER
    assert deferred.not_before == oldest + timedelta(hours=24)


def test_blackout_and_quiet_hours_together_defer_to_a_time_satisfying_both():
    """A blackout until 09:30 UTC, and quiet hours until 08:00: due at 09:30, the later of the two."""
    blackout = spec(
        "xmas",
        "blackout",
        "defer",
        params={"periods": [{"start": "2026-01-15T20:00:00+00:00", "end": "2026-01-16T09:30:00+00:00"}]},
    )
    decision = decide(facts(), order_specs([*BASELINE, blackout]), LONDON_EVENING)
    assert decision.outcome == Outcome.DEFER
    assert decision.not_before == datetime(2026, 1, 16, 9, 30, tzinfo=UTC)
    assert decision.decided_by == "xmas v1"


def test_multi_zone_numbers_must_be_inside_the_window_everywhere():
    """A number whose region spans several zones is sent only when it is daytime in all of them."""
    zones = ("America/New_York", "America/Los_Angeles")
    at = datetime(2026, 1, 15, 13, 30, tzinfo=UTC)  # 08:30 New York, 05:30 Los Angeles
    decision = decide(facts(zones=zones, country="US"), BASELINE, at)
    assert decision.outcome == Outcome.DEFER
    assert decision.not_before == datetime(2026, 1, 15, 16, 0, tzinfo=UTC)  # 08:00 in Los Angeles


def test_disabled_or_invalid_rules_are_refused_with_the_field_named():
    with pytest.raises(ValidationError) as exc:
        spec("q", "quiet_hours", "block", params={"start": "08:00", "end": "21:00"})
    assert "effect" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        spec("q", "quiet_hours", "defer", params={"start": "8am", "end": "21:00"})
    assert "params" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        spec("c", "country_allow", params={"allowed": ["GB"]}, countries=["Britain"])
    assert "countries" in exc.value.message_dict
