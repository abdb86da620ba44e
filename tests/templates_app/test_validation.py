"""validate_data: every missing or mistyped variable is named; good data passes."""

from __future__ import annotations

import pytest

from templates_app.rendering import validate_data
from templates_app.rendering.variables import example_data, value_problem
from tests.factories import make_live_template
from tests.templates_app.conftest import spec

VARIABLES = [
    {"name": "first_name", "type": "string", "required": True, "example": "Ada"},
    {"name": "amount", "type": "money", "required": True, "example": "19.99 GBP"},
    {"name": "due", "type": "date", "required": True, "example": "2026-06-01"},
    {"name": "at", "type": "datetime", "required": False, "example": "2026-06-01T09:00:00+01:00"},
    {"name": "count", "type": "number", "required": False, "example": "3"},
    {"name": "link", "type": "url", "required": False, "example": "https://x.example"},
    {"name": "vip", "type": "boolean", "required": False, "example": "true"},
]
TEXT = "{{ first_name }} {{ amount }} {{ due }}{% if at is defined %}{{ at }}{{ count }}{{ link }}{{ vip }}{% endif %}"


@pytest.fixture
def version(db):
    template = make_live_template(
        "bill", variants=[{"channel": "sms", "locale": "en", "text": TEXT}], variables=VARIABLES
    )
    return template.live_version


def test_good_data_passes(version):
    data = {
        "first_name": "Ada",
        "amount": {"amount": "1.5", "currency": "gbp"},
        "due": "2026-06-01",
        "count": 2,
        "vip": False,
    }
    assert validate_data(version, data) == []


def test_every_missing_and_mistyped_variable_is_named(version):
    problems = validate_data(
        version, {"amount": 12, "due": "01/06/2026", "count": "2", "vip": "yes", "link": "ftp://x"}
    )
    assert {p.field for p in problems} == {
        "data.first_name",
        "data.amount",
        "data.due",
        "data.count",
        "data.vip",
        "data.link",
    }
    assert all(p.name in p.message for p in problems)


def test_optional_variables_may_be_left_out(version):
    assert validate_data(version, {"first_name": "A", "amount": "3 EUR", "due": "2026-01-02"}) == []


@pytest.mark.parametrize(
    ("type_", "good", "bad"),
    [
        ("string", "x", 3),
        ("number", 2.5, True),
        ("date", "2026-02-28", "2026-02-30"),
        ("datetime", "2026-02-28T10:00:00Z", "2026-02-28T10:00:00"),  # no offset: ambiguous
        ("money", {"amount": 3, "currency": "USD"}, {"amount": "x", "currency": "USD"}),
        ("url", "https://a.example/p", "javascript:alert(1)"),
        ("boolean", True, "true"),
    ],
)
def test_each_type_accepts_its_values_only(type_, good, bad):
    s = spec("v", type_)
    assert value_problem(s, good) == ""
    assert value_problem(s, bad) != ""


def test_undeclared_names_in_older_versions_must_still_be_present(db):
    template = make_live_template(
        "old", variants=[{"channel": "sms", "locale": "en", "text": "{{ a }}"}], variables=[]
    )
    assert template.live_version is not None
    problems = validate_data(template.live_version, {})
    assert [p.field for p in problems] == ["data.a"]


def test_examples_become_json_values():
    specs = [spec("n", "number", "3"), spec("b", "boolean", "true"), spec("m", "money", "2.50 EUR")]
    assert example_data(specs) == {"n": 3, "b": True, "m": {"amount": "2.50", "currency": "EUR"}}
