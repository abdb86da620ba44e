"""Reports: rollups per template, channel and day maintained by the lifecycle as events
arrive (one upsert per batch), engagement counted through the service, admin page and CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.services import Actor
from hub.messaging.lifecycle import Change, messages_transition
from hub.messaging.models import DailyRollup, DecisionRollup
from hub.messaging.rollups import rollups_fold_accepted, rollups_record_engagement, sms_segments
from tests.factories import make_message

REPORT_URL = reverse("admin:workspace_report_changelist")


def rollup(template, channel):
    rollups_fold_accepted()  # the intake's "accepted" counts, as beat and every report fold them
    return DailyRollup.objects.get(template=template, channel=channel, day=timezone.now().date())


def test_status_changes_are_counted_per_template_channel_and_day(settings, contact, live_template):
    settings.HUB_SMS_COST_PER_SEGMENT = "0.0400"
    make_message(template=live_template, contact=contact, outcome="delivered")
    make_message(template=live_template, contact=contact, outcome="failed")
    make_message(template=live_template, contact=contact, outcome="bounced")
    make_message(template=live_template, contact=contact, channel="email", outcome="delivered")
    sms = rollup(live_template, "sms")
    assert (sms.sent, sms.delivered, sms.failed, sms.bounced) == (2, 1, 1, 1)
    assert (sms.segments, sms.cost) == (2, Decimal("0.0800"))
    email = rollup(live_template, "email")
    assert (email.sent, email.delivered, email.segments) == (1, 1, 0)


def test_a_batch_costs_one_lookup_and_one_upsert(contact, live_template, template_factory):
    other = template_factory("order.delayed")
    queued = [
        make_message(template=t, contact=contact, outcome="queued")
        for t in (live_template, other)
        for _ in range(3)
    ]
    with CaptureQueriesContext(connection) as queries:
        messages_transition(
            [Change(m.id, "blocked", {"block_reason": "no_consent"}) for m in queued],
            actor=Actor.system(),
            source="test",
        )
    upserts = [q["sql"] for q in queries.captured_queries if "ON CONFLICT" in q["sql"]]
    # One per rollup table (daily, by locale and provider, by reason, decisions), groups together.
    assert len(upserts) == 4
    assert rollup(live_template, "sms").blocked == 3 and rollup(other, "sms").blocked == 3
    decision = DecisionRollup.objects.get(outcome="blocked", reason="no_consent")
    assert decision.count == 6


def test_delivery_reported_before_sent_still_counts_as_sent(contact, live_template):
    message = make_message(template=live_template, contact=contact, outcome="queued")
    for status in ("sending", "delivered"):
        messages_transition([Change(message.id, status)], actor=Actor.system(), source="test")
    sms = rollup(live_template, "sms")
    assert (sms.sent, sms.delivered) == (1, 1)


def test_late_reports_about_final_messages_are_not_counted_twice(contact, live_template):
    message = make_message(template=live_template, contact=contact, outcome="delivered")
    messages_transition([Change(message.id, "delivered")], actor=Actor.system(), source="test")
    assert rollup(live_template, "sms").delivered == 1


def test_engagement_is_counted_through_the_service(contact, live_template):
    message = make_message(template=live_template, contact=contact, channel="email", outcome="delivered")
    rollups_record_engagement(
        events=[
            (message.id, "opened"),
            (message.id, "clicked"),
            (message.id, "opened"),
            (message.id, "bogus"),
        ],
        at=timezone.now(),
    )
    email = rollup(live_template, "email")
    assert (email.opened, email.clicked, email.unsubscribed) == (2, 1, 0)


@pytest.mark.parametrize(
    ("text", "segments"),
    [("", 0), ("a" * 160, 1), ("a" * 161, 2), ("a" * 306, 2), ("a" * 307, 3), ("€" * 80, 1), ("€" * 81, 2),
     ("ü" * 70, 1), ("✓" * 70, 1), ("✓" * 71, 2), ("😀" * 35, 1), ("😀" * 36, 2)],
)  # fmt: skip
def test_sms_segments(text, segments):
    assert sms_segments(text) == segments


def test_report_page_with_rates_chart_and_csv(client, staff_factory, contact, live_template):
    make_message(template=live_template, contact=contact, outcome="delivered")
    make_message(template=live_template, contact=contact, outcome="failed")
    client.force_login(staff_factory("Marketer"))
    response = client.get(REPORT_URL, {"template": "order.shipped"})
    assert response.status_code == 200
    report = response.context["report"]
    assert report.total.counts["sent"] == 1 and report.total.delivery_rate == 100.0
    assert len(report.daily) == 30 and b"<svg" in response.content
    download = client.get(REPORT_URL, {"template": "order.shipped", "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert [(r["template"], r["channel"], r["sent"], r["delivered"], r["failed"]) for r in rows] == [
        ("order.shipped", "sms", "1", "1", "1")
    ]


def test_report_reads_rollups_not_messages(client, staff_factory, live_template):
    """A report over ten million messages is a read of the rollup rows, nothing else."""
    today = timezone.now().date()
    DailyRollup.objects.bulk_create(
        DailyRollup(
            template=live_template,
            channel="sms",
            day=today - timedelta(days=d),
            sent=10_000_000 // 30,
            delivered=300_000,
        )
        for d in range(30)
    )
    client.force_login(staff_factory("Marketer"))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(REPORT_URL)
    assert response.context["report"].total.counts["sent"] == 30 * (10_000_000 // 30)
    assert not any("messaging_message" in q["sql"] for q in queries.captured_queries)


def test_bad_report_dates_are_a_form_error(client, staff_factory, db):
    client.force_login(staff_factory("Marketer"))
    response = client.get(REPORT_URL, {"date_from": "2026-03-01", "date_to": "2026-01-01"})
    assert response.status_code == 400 and "date_to" in response.context["form"].errors


def test_funnel_breakdowns_and_reasons_in_words(client, staff_factory, contact, live_template):
    """Issue 18.5: per template, a funnel from accepted to converted, by locale and provider,
    and blocked or deferred with their reasons in words, not codes."""
    make_message(template=live_template, contact=contact, outcome="delivered")
    make_message(template=live_template, contact=contact, outcome="failed")
    make_message(
        template=live_template,
        contact=contact,
        outcome="blocked",
        fields={"blocked": {"block_reason": "no_consent"}},
    )
    held = make_message(template=live_template, contact=contact, outcome="queued")
    rule = {"rule": "quiet", "version": 1, "kind": "quiet_hours", "effect": "defer", "matched": True}
    messages_transition(
        [Change(held.id, "deferred", {"decision": {"outcome": "defer", "rules": [rule]}})],
        actor=Actor.system(),
        source="test",
    )
    client.force_login(staff_factory("Marketer"))
    response = client.get(REPORT_URL, {"template": "order.shipped"})
    report = response.context["report"]
    assert report.funnel[:3] == [("Accepted", 4), ("Sent", 1), ("Delivered", 1)]  # one failed on hand-off
    assert [(r.outcome, r.words, r.count) for r in report.reasons] == [
        ("blocked", "No consent", 1),
        ("deferred", "Quiet hours (recipient's local time)", 1),
    ]
    providers = {s.label: s.counts for s in report.providers}
    assert (providers["sandbox-sms"]["sent"], providers["sandbox-sms"]["delivered"]) == (1, 1)
    assert providers["Not handed to a provider"]["accepted"] == 4
    assert sum(s.counts["accepted"] for s in report.locales) == 4
    page = response.content.decode()
    assert "Quiet hours (recipient&#x27;s local time)" in page and "quiet_hours" not in page
    assert page.count('role="img"') == 3 and "Funnel: order.shipped" in page


def test_the_provider_table_shows_what_providers_were_handed(client, staff_factory, contact, live_template):
    """Accepted, blocked and deferred are counted before a provider is chosen: the provider
    table has no such columns, and no "Not handed to a provider" row that only holds them (it
    read "accepted 1, sent 0" beside the provider that sent the same message)."""
    make_message(template=live_template, contact=contact, outcome="delivered")
    client.force_login(staff_factory("Marketer"))
    response = client.get(REPORT_URL, {"template": "order.shipped"})
    assert [s.label for s in response.context["report"].providers] == ["sandbox-sms"]
    page = response.content.decode()
    table = page[page.index("<h2>By provider</h2>") :]
    table = table[: table.index("</table>")]
    assert '<th scope="col">Accepted</th>' not in table and "Not handed to a provider" not in table
    assert '<th scope="col">Sent</th>' in table


def test_a_deferral_decided_again_is_not_counted_twice(contact, live_template):
    message = make_message(template=live_template, contact=contact, outcome="queued")
    for status in ("deferred", "deferred", "queued"):
        messages_transition([Change(message.id, status)], actor=Actor.system(), source="test")
    sms = rollup(live_template, "sms")
    assert (sms.accepted, sms.deferred) == (1, 1)


def test_csv_has_the_funnel_columns(client, staff_factory, contact, live_template):
    make_message(template=live_template, contact=contact, outcome="delivered")
    client.force_login(staff_factory("Marketer"))
    download = client.get(REPORT_URL, {"template": "order.shipped", "format": "csv"})
    (row,) = csv.DictReader(io.StringIO(download.content.decode()))
    assert (row["accepted"], row["sent"], row["converted"], row["machine_clicks"]) == ("1", "1", "0", "0")
    assert row["conversion_rate"] == "0.0"
