"""A definition is checked on save: shape by the JSON schema, then meaning, with clear errors."""

from __future__ import annotations

import pytest

from hub.journeys.conditions import ConditionScope, condition_check, condition_evaluate
from hub.journeys.definition import definition_check
from tests.hub.journeys.conftest import definition

pytestmark = pytest.mark.usefixtures("shipped")


def messages(value: object) -> list[str]:
    return [str(p) for p in definition_check(value)]


@pytest.mark.django_db
def test_a_valid_definition_has_no_problems() -> None:
    assert messages(definition()) == []


@pytest.mark.django_db
def test_unknown_top_level_and_step_fields_are_named() -> None:
    assert messages(definition(colour="red")) == ["unknown field: 'colour' was unexpected"]
    bad_step = definition(steps=[{"id": "a", "type": "wait", "duration": "1h", "color": 1}])
    assert messages(bad_step) == ["steps.0: unknown field: 'color' was unexpected"]


@pytest.mark.django_db
def test_wrong_types_and_forms_are_named() -> None:
    assert messages(definition(steps=[{"id": "a", "type": "wait", "duration": "2 hours"}])) == [
        "steps.0.duration: '2 hours' does not match '^[1-9][0-9]{0,5}[smhd]$'"
    ]
    assert messages(definition(name=3)) == ["name: 3 is not of type 'string'"]
    assert messages(definition(steps=[{"id": "a", "type": "teleport"}]))[0].startswith("steps.0.type:")


@pytest.mark.django_db
def test_references_to_missing_steps_and_templates_are_refused() -> None:
    steps = [
        {"id": "a", "type": "send", "template": "no.such", "next": "zz"},
        {"id": "a", "type": "wait", "until": "09:00", "duration": "1h"},
    ]
    assert messages(definition(steps=steps)) == [
        "steps.1.id: 'a' is used by an earlier step.",
        "steps.0.next: there is no step 'zz'.",
        "steps.0.template: there is no template 'no.such'.",
        "steps.1: a wait has either a duration or an until time, not both or neither.",
    ]


@pytest.mark.django_db
def test_wait_for_a_message_must_name_an_earlier_send_step() -> None:
    steps = [
        {"id": "w", "type": "wait_for", "message": {"step": "s", "status": ["opened"]}, "timeout": "1d"},
        {"id": "s", "type": "send", "template": "order.shipped"},
    ]
    assert messages(definition(steps=steps)) == ["steps.0.message.step: 's' does not come before this step."]


@pytest.mark.django_db
def test_reentry_once_per_needs_a_period() -> None:
    assert messages(definition(reentry={"policy": "once_per"})) == [
        "reentry.period: once_per needs a period, e.g. 7d."
    ]
    assert messages(definition(reentry={"policy": "once_per", "period": "7d"})) == []


@pytest.mark.django_db
def test_conditions_unknown_fields_and_wrong_types_are_refused_on_save() -> None:
    trigger = {
        "event": "cart.abandoned",
        "condition": "contact.tier == 'gold' && event.data.total > 50.0",
        "event_fields": {"total": "int"},
    }
    assert messages(definition(trigger=trigger)) == [
        "trigger.condition: 'contact.tier' is not a contact field (use external_id, email, phone, locale, "
        "timezone, attributes; own fields go in contact.attributes)."
    ]
    trigger["condition"] = "contact.attributes.tier == 'gold' && event.data.total > 50.0"
    assert messages(definition(trigger=trigger)) == [
        "trigger.condition: wrong type: '>' cannot be applied to int and double."
    ]
    trigger["condition"] = "event.data.total > 50 && event.data.sku == 'x'"
    assert messages(definition(trigger=trigger)) == [
        "trigger.condition: 'event.data.sku' is not a declared event field (declared: total)."
    ]
    trigger["condition"] = "event.data.total > 50"
    assert messages(definition(trigger=trigger)) == []


@pytest.mark.django_db
def test_a_trigger_condition_cannot_see_steps_and_a_branch_only_known_ones() -> None:
    trigger = {"event": "x", "condition": "steps.hello.outcome == 'sent'"}
    assert messages(definition(trigger=trigger)) == [
        "trigger.condition: unknown name 'steps' (use contact, event)."
    ]
    steps = [
        {"id": "hello", "type": "send", "template": "order.shipped"},
        {
            "id": "b",
            "type": "branch",
            "branches": [{"condition": "steps.helo.outcome == 'sent'", "next": "hello"}],
        },
    ]
    assert messages(definition(steps=steps)) == [
        "steps.1.branches.0.condition: 'steps.helo' is not a step that has run by then (steps: hello, b)."
    ]


def test_conditions_must_be_boolean_valid_cel_and_shallow() -> None:
    scope = ConditionScope()
    assert condition_check("contact.locale", scope=scope) == ["must be true or false, not string."]
    assert condition_check("contact.locale ==", scope=scope)[0].startswith("not valid CEL")
    assert condition_check("(" * 300 + "true" + ")" * 300, scope=scope) == ["too deeply nested."]
    assert condition_check("[1, 2].exists(x, x > 1)", scope=scope) == []


def test_a_comprehension_inside_another_is_refused_so_evaluation_stays_linear() -> None:
    nested = "[1, 2].exists(x, [1, 2].map(y, [1, 2].all(z, z > 0)).size() > 0)"
    assert condition_check(nested, scope=ConditionScope()) == [
        "a comprehension (all, exists, exists_one, map, filter) may not hold another."
    ]


def test_conditions_evaluate_over_contact_event_and_steps() -> None:
    values = {
        "contact": {"attributes": {"tier": "gold"}},
        "event": {"data": {"total": 70}},
        "steps": {"s": {"outcome": "blocked"}},
    }
    assert condition_evaluate("contact.attributes.tier == 'gold' && event.data.total >= 70", values)
    assert not condition_evaluate("steps.s.outcome == 'sent'", values)
