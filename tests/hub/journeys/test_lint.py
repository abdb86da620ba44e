"""Journey lint: what is allowed but probably wrong, with the step it is about (17.3)."""

from __future__ import annotations

from typing import Any

import pytest

from hub.journeys.lint import journey_lint
from tests.factories import make_live_template
from tests.hub.journeys.conftest import definition, live_journey, send_event

pytestmark = pytest.mark.django_db


def _codes(value: dict[str, Any]) -> set[tuple[str, str]]:
    return {(f.code, f.step) for f in journey_lint(value)}


def test_a_clean_journey_has_no_findings(shipped) -> None:
    from tests.factories import make_contacts

    make_contacts(1)
    live_journey(definition())
    send_event("signed.up")  # the event is known now
    assert journey_lint(definition()) == []


def test_unknown_event_unreachable_step_and_missing_template(shipped) -> None:
    value = definition(
        trigger={"event": "signd.up"},
        steps=[
            {"id": "hello", "type": "send", "template": "order.shipped", "channels": ["sms"], "next": "bye"},
            {"id": "lost", "type": "send", "template": "gone.template"},
            {"id": "bye", "type": "exit"},
        ],
    )
    codes = _codes(value)
    assert ("unknown_event", "") in codes
    assert ("unreachable", "lost") in codes
    assert ("unknown_template", "lost") in codes
    assert ("unreachable", "bye") not in codes
    message = next(f.message for f in journey_lint(value) if f.code == "unknown_event")
    assert "`signd.up`" in message


def test_marketing_send_without_a_consent_rule(db) -> None:
    from hub.compliance.models import Rule
    from hub.compliance.services import rule_version_create

    make_live_template("promo", category="marketing")
    value = definition(steps=[{"id": "promo", "type": "send", "template": "promo", "channels": ["sms"]}])
    assert ("no_consent_check", "promo") not in _codes(value)  # the baseline consent rule covers it
    for rule in Rule.objects.filter(kind="consent_required"):
        latest = rule.versions.order_by("-number").first()
        assert latest is not None
        rule_version_create(
            rule=rule,
            effect=latest.effect,
            params=latest.params,
            category=latest.category,
            channel=latest.channel,
            enabled=False,
        )
    assert ("no_consent_check", "promo") in _codes(value)


def test_a_wait_before_a_template_that_mentions_an_expiry(db) -> None:
    make_live_template(
        "offer",
        variants=[{"channel": "sms", "locale": "en", "text": "Ends {{ offer_expires }}"}],
        variables=[{"name": "offer_expires", "type": "date", "required": True, "example": "2026-01-01"}],
    )
    send = {"id": "offer", "type": "send", "template": "offer", "channels": ["sms"]}
    assert ("wait_past_expiry", "offer") not in _codes(definition(steps=[send]))
    waited = definition(steps=[{"id": "later", "type": "wait", "duration": "3d"}, send])
    finding = next(f for f in journey_lint(waited) if f.code == "wait_past_expiry")
    assert finding.step == "offer" and "3 days" in finding.message
