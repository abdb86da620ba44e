"""GET /api/v1/reports/templates/{key} (SPEC §4, issue 18 point 5): the admin report's figures
by channel and in total, machine opens and clicks apart, problem+json for bad dates and
unknown templates, scoped keys see only their templates."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from hub.messaging.models import DailyRollup
from tests.factories import key_client, make_message
from tests.hub.security.api import PROBLEM, db_snapshot, make_key

pytestmark = pytest.mark.django_db
URL = "/api/v1/reports/templates/order.shipped"


@pytest.fixture
def reader():
    return key_client(make_key("bi", ["read"]))


def test_figures_by_channel_and_in_total(reader, contact, live_template):
    make_message(template=live_template, contact=contact, outcome="delivered")
    make_message(template=live_template, contact=contact, channel="email", outcome="delivered")
    make_message(
        template=live_template,
        contact=contact,
        outcome="blocked",
        fields={"blocked": {"block_reason": "no_consent"}},
    )
    DailyRollup.objects.filter(channel="email").update(
        opened=3, machine_opens=2, clicked=1, machine_clicks=4, converted=1, cost=Decimal("0.5")
    )
    response = reader.get(URL)
    assert response.status_code == 200, response.content
    body = response.json()
    today = timezone.now().date()
    assert (body["template"], body["date_from"], body["date_to"]) == (
        "order.shipped",
        str(today - timedelta(days=29)),
        str(today),
    )
    total = body["total"]
    assert (total["accepted"], total["sent"], total["delivered"], total["blocked"]) == (3, 2, 2, 1)
    assert (total["opened"], total["machine_opens"], total["clicked"], total["machine_clicks"]) == (
        3,
        2,
        1,
        4,
    )
    assert (total["converted"], total["cost"]) == (1, "0.5000")
    email = next(c for c in body["channels"] if c["channel"] == "email")
    assert (email["sent"], email["opened"], email["converted"]) == (1, 3, 1)
    assert body["reasons"] == [
        {"outcome": "blocked", "reason": "no_consent", "description": "No consent", "count": 1}
    ]


def test_dates_choose_the_days(reader, live_template):
    today = timezone.now().date()
    DailyRollup.objects.create(template=live_template, channel="sms", day=today - timedelta(days=40), sent=5)
    DailyRollup.objects.create(template=live_template, channel="sms", day=today, sent=2)
    old = str(today - timedelta(days=40))
    assert reader.get(URL, {"from": old, "to": old}).json()["total"]["sent"] == 5
    assert reader.get(URL).json()["total"]["sent"] == 2


@pytest.mark.parametrize(
    ("query", "field", "status"),
    [
        ({"from": "2026-03-01", "to": "2026-01-01"}, "to", 422),  # dates, but not a period
        ({"from": "yesterday"}, "from", 400),
        ({"from": "2024-01-01", "to": "2026-01-01"}, "from", 422),
        ({"to": "9999-12-31"}, "to", 422),  # was a 500: no day after 9999-12-31
        ({"from": "9999-12-31", "to": "9999-12-31"}, "to", 422),
        ({"template": "other.template"}, "template", 400),  # hostile extra parameters
        ({"api_key": "1"}, "api_key", 400),
    ],
)
def test_bad_queries_are_problems_that_name_the_field(reader, live_template, query, field, status):
    before = db_snapshot()
    response = reader.get(URL, query)
    assert response.status_code == status and response["Content-Type"] == PROBLEM
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert db_snapshot() == before


def test_a_period_at_the_start_of_the_calendar_is_counted_not_a_500(reader, live_template):
    response = reader.get(URL, {"to": "0001-01-05"})
    assert response.status_code == 200
    assert (response.json()["date_from"], response.json()["total"]["sent"]) == ("0001-01-01", 0)


def test_an_unknown_template_is_not_found(reader, db):
    response = reader.get("/api/v1/reports/templates/no.such")
    assert response.status_code == 404 and response["Content-Type"] == PROBLEM
    assert response.json()["code"] == "not_found"


def test_a_key_limited_to_a_category_sees_only_those_templates(live_template, template_factory):
    client = key_client(make_key("bi-marketing", ["read", "category:marketing"]))
    assert live_template.category != "marketing"
    assert client.get(URL).status_code == 404


def test_a_sending_key_without_read_is_refused(live_template):
    response = key_client(make_key("sender", ["send"])).get(URL)
    assert response.status_code == 403 and "'read'" in response.json()["detail"]
