"""Rules are data: the baseline ships as a migration, a change appends an audited version, and
the engine's cached rule set notices the change on its next batch."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.module_loading import import_string

from audit.models import AuditRecord
from hub.compliance.models import Rule, RuleVersion
from hub.compliance.rules import rules_current
from hub.compliance.services import rule_version_create


@pytest.mark.django_db
def test_baseline_rule_set_is_installed_by_migrate():
    kinds = {(r.key, r.kind) for r in Rule.objects.all()}
    assert kinds == {
        ("suppression", "suppression"),
        ("opt_out", "opt_out"),
        ("marketing_consent", "consent_required"),
        ("quiet_hours_marketing_sms", "quiet_hours"),
        ("marketing_email_content", "required_content"),
    }
    quiet = RuleVersion.objects.get(rule__key="quiet_hours_marketing_sms")
    assert (quiet.category, quiet.channel, quiet.effect, quiet.params) == (
        "marketing",
        "sms",
        "defer",
        {"start": "08:00", "end": "21:00"},
    )


@pytest.mark.django_db
def test_a_change_is_a_new_audited_version_and_the_cache_sees_it():
    rule = Rule.objects.get(key="quiet_hours_marketing_sms")
    before = {s.key: s for s in rules_current()}["quiet_hours_marketing_sms"]
    assert (before.version, before.window) == (1, (480, 1260))
    rule_version_create(
        rule=rule,
        effect="defer",
        category="marketing",
        channel="sms",
        params={"start": "09:00", "end": "20:00"},
        note="stricter",
    )
    after = {s.key: s for s in rules_current()}["quiet_hours_marketing_sms"]
    assert (after.version, after.window) == (2, (540, 1200))
    assert list(rule.versions.values_list("number", flat=True)) == [2, 1]
    record = AuditRecord.objects.get(action="rule.version_created")
    assert record.payload["version"] == 2 and record.payload["params"]["start"] == "09:00"


@pytest.mark.django_db
def test_disabling_a_rule_removes_it_from_the_live_set():
    rule = Rule.objects.get(key="marketing_consent")
    rule_version_create(rule=rule, effect="block", category="marketing", params={}, enabled=False)
    assert "marketing_consent" not in {s.key for s in rules_current()}


@pytest.mark.django_db
def test_an_invalid_version_is_refused_and_nothing_is_written():
    rule = Rule.objects.get(key="quiet_hours_marketing_sms")
    with pytest.raises(ValidationError):
        rule_version_create(rule=rule, effect="defer", params={"start": "25:00", "end": "20:00"})
    assert rule.versions.count() == 1
    assert not AuditRecord.objects.filter(action="rule.version_created").exists()


@pytest.mark.django_db
def test_template_lint_can_check_required_content_through_the_setting():
    """templates_app may not import hub: it resolves TEMPLATES_CONTENT_CHECK and calls it."""
    check = import_string(settings.TEMPLATES_CONTENT_CHECK)
    missing = check(category="marketing", channel="email", content={"html": "<p>Sale!</p>", "text": "Sale!"})
    assert len(missing) == 2
    assert any("one-click unsubscribe link" in p for p in missing)
    assert all(p.startswith("marketing_email_content v1:") for p in missing)
    ok = {"html": "<a href='{{ unsubscribe_url }}'>x</a> {{ postal_address }}", "text": ""}
    assert check(category="marketing", channel="email", content=ok) == []
    assert check(category="transactional", channel="email", content={"html": "<p>Receipt</p>"}) == []
    written = {"html": "<a href='{{ unsubscribe_url }}'>Unsubscribe</a> Example Bank, 1 High Street, London"}
    assert check(category="marketing", channel="email", content=written) == []


def test_a_bad_content_pattern_is_refused():
    from hub.compliance.rules import rule_spec_parse

    with pytest.raises(ValidationError):
        rule_spec_parse(
            key="c",
            version=1,
            kind="required_content",
            effect="block",
            params={"required": [{"label": "x", "patterns": ["(unclosed"]}]},
        )


@pytest.mark.django_db
def test_the_demo_marketing_content_satisfies_the_baseline():
    """seed_demo submits its marketing template through the lint, which applies the baseline's
    required-content rules to the rendered email (layout with the postal address included)."""
    from django.core.management import call_command

    from templates_app.models import Template

    call_command("seed_demo", force=True)
    offer = Template.objects.get(key="offer.spring")
    assert offer.live_version is not None
    assert not [f for f in offer.live_version.lint if f.get("code") == "content_rule"]


@pytest.mark.redis
@pytest.mark.django_db
def test_the_live_set_costs_no_query_and_a_change_from_elsewhere_is_seen_at_once(
    django_assert_num_queries,
):
    """With the shared cache the rule set is this process's copy while the rules' generation
    holds (no query per batch); a version saved anywhere bumps it (hub.generations)."""
    rules_current()
    with django_assert_num_queries(0):
        assert "marketing_consent" in {s.key for s in rules_current()}
    # As another process would write it: not through this process's service (no local clear).
    latest = RuleVersion.objects.filter(rule__key="marketing_consent").order_by("-number").first()
    assert latest is not None
    RuleVersion.objects.create(
        rule=latest.rule,
        number=latest.number + 1,
        enabled=False,
        effect=latest.effect,
        category=latest.category,
        channel=latest.channel,
        countries=latest.countries,
        params=latest.params,
    )
    assert "marketing_consent" not in {s.key for s in rules_current()}


@pytest.mark.redis
@pytest.mark.django_db
def test_a_version_written_without_signals_is_seen_after_an_operators_bump():
    from hub.compliance.rules import RULES_GENERATION
    from hub.generations import generation_bump_now

    assert "marketing_consent" in {s.key for s in rules_current()}
    RuleVersion.objects.filter(rule__key="marketing_consent").update(enabled=False)  # no signal
    generation_bump_now(RULES_GENERATION)
    assert "marketing_consent" not in {s.key for s in rules_current()}
