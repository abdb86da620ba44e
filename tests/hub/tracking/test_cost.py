"""Cost: one price source. The provider's reported price (Twilio's Message resource, fetched
through the SDK after the final status) where there is one, else the price table; the lint's
estimate comes from the same table."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from audit.services import Actor
from hub.messaging.dispatch import messages_dispatch
from hub.messaging.lifecycle import Change, messages_transition
from hub.messaging.models import DailyRollup
from hub.tracking.models import MessagePrice, Price
from hub.tracking.prices import message_price_fetch
from hub.tracking.pricing import price_book, sms_segment_estimate
from tests.factories import make_live_template, make_queued_messages

pytestmark = pytest.mark.django_db


@pytest.fixture
def prices(db):
    Price.objects.create(channel="sms", country_prefix="", price=Decimal("0.05"), currency="USD")
    Price.objects.create(channel="sms", country_prefix="44", price=Decimal("0.04"), currency="USD")
    Price.objects.create(channel="sms", country_prefix="447", price=Decimal("0.03"), currency="USD")
    Price.objects.create(channel="email", country_prefix="", price=Decimal("0.001"), unit="message")


def test_the_longest_country_prefix_wins_and_segments_multiply(prices):
    book = price_book()
    assert book.cost(channel="sms", to="+447911123456", segments=2) == Decimal("0.06")
    assert book.cost(channel="sms", to="+442071234567", segments=1) == Decimal("0.04")
    assert book.cost(channel="sms", to="+15005550006", segments=3) == Decimal("0.15")
    assert book.cost(channel="email", to="ada@example.com") == Decimal("0.001")
    assert book.cost(channel="push", to="device:1") == Decimal(0)
    assert sms_segment_estimate() == (Decimal("0.05"), "USD")


def test_without_a_table_the_old_setting_prices_sms(settings, db):
    settings.HUB_SMS_COST_PER_SEGMENT = "0.0100"
    assert price_book().cost(channel="sms", to="+447911123456", segments=2) == Decimal("0.02")


def test_the_lint_estimate_and_the_report_cost_agree(prices, twilio_sms):
    template = make_live_template("order.priced")
    [message] = make_queued_messages(template, to="+15005550006")
    messages_dispatch(message_ids=[message.id])
    row = DailyRollup.objects.get(template=template, channel="sms")
    price, _ = sms_segment_estimate()
    assert row.segments == 1 and row.cost == price * row.segments


def test_twilio_reported_price_replaces_the_estimate(prices, twilio_sms, django_capture_on_commit_callbacks):
    template = make_live_template("order.billed")
    [message] = make_queued_messages(template, to="+447911123456")
    messages_dispatch(message_ids=[message.id])
    message.refresh_from_db()
    row = DailyRollup.objects.get(template=template, channel="sms", day=timezone.now().date())
    assert row.cost == Decimal("0.03")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        messages_transition([Change(message.id, "delivered")], actor=Actor.provider("twilio"), source="test")
    assert any("fetch_message_price" in repr(c) for c in callbacks)
    assert message_price_fetch(message.id) is True
    # The fake bills -0.00750 USD: the rollup now holds the provider's price, not the table's.
    assert MessagePrice.objects.get(message=message).amount == Decimal("0.0075")
    row.refresh_from_db()
    assert row.cost == Decimal("0.0075")
    assert message_price_fetch(message.id) is False  # once
    assert [c.path for c in twilio_sms.calls if c.method == "GET"] == [
        f"/2010-04-01/Accounts/{twilio_sms_account()}/Messages/{message.provider_message_id}.json"
    ]


def twilio_sms_account() -> str:
    from bench.fakes.twilio import ACCOUNT_SID

    return ACCOUNT_SID


def test_price_rows_refuse_bad_prefixes(prices):
    from django.core.exceptions import ValidationError

    from hub.tracking.prices import price_save

    with pytest.raises(ValidationError):
        price_save(price=Price(channel="sms", country_prefix="+44", price=Decimal("1")), actor=Actor.system())
    with pytest.raises(ValidationError):
        price_save(price=Price(channel="sms", country_prefix="33", price=Decimal("-1")), actor=Actor.system())


def test_reports_show_cost_by_country(prices, twilio_sms, settings, client):
    """Issue 18 point 4: cost by template, channel, country and day."""
    from django.urls import reverse

    from hub.messaging.models import CountryRollup
    from hub.workspace.reports import report_build
    from tests.factories import make_staff_user

    template = make_live_template("order.abroad")
    sends = make_queued_messages(template, to="+442071234567") + make_queued_messages(
        template, to="+15005550006"
    )
    messages_dispatch(message_ids=[m.id for m in sends])
    today = timezone.now().date()
    rows = sorted(CountryRollup.objects.filter(template=template).values_list("country", "sent", "cost"))
    assert rows == [("GB", 1, Decimal("0.0400")), ("US", 1, Decimal("0.0500"))]
    report = report_build(date_from=today, date_to=today, template="order.abroad")
    assert [(c.country, c.cost) for c in report.countries] == [
        ("US", Decimal("0.0500")),
        ("GB", Decimal("0.0400")),
    ]
    assert sum(c.cost for c in report.countries) == report.total.cost
    client.force_login(make_staff_user("Marketer"))
    page = client.get(
        reverse("admin:workspace_report_changelist"), {"template": "order.abroad"}
    ).content.decode()
    assert "Cost by country" in page and "<td>GB</td>" in page
