"""``manage.py rollups_backfill`` (hub.messaging.rollups.rollups_rebuild): the rollups rebuilt
from the messages' timelines are the ones the live effects wrote; a second run changes
nothing; progress is printed."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from audit.services import Actor
from hub.messaging.feedback import Outcome, outcomes_apply
from hub.messaging.lifecycle import Change, messages_transition
from hub.messaging.models import CountryRollup, DailyRollup, DecisionRollup, ReasonRollup, SliceRollup
from hub.messaging.rollups import rollups_fold_accepted
from tests.factories import make_message

pytestmark = pytest.mark.django_db

COLUMNS = ("template_id", "channel", "day", "sent", "delivered", "failed", "bounced", "blocked", "opened",
           "clicked", "unsubscribed", "complained", "segments", "accepted", "deferred", "cost")  # fmt: skip
SLICES = ("template_id", "channel", "day", "locale", "provider", "accepted", "sent", "delivered", "failed",
          "blocked", "deferred", "opened", "clicked")  # fmt: skip


def snapshot():
    rollups_fold_accepted()  # the intake's "accepted" counts, as beat and every report fold them
    daily = sorted(DailyRollup.objects.values_list(*COLUMNS))
    decisions = sorted(DecisionRollup.objects.values_list("day", "outcome", "reason", "count"))
    slices = sorted(SliceRollup.objects.values_list(*SLICES))
    reasons = sorted(
        ReasonRollup.objects.values_list("template_id", "channel", "day", "outcome", "reason", "count")
    )
    countries = sorted(
        CountryRollup.objects.values_list(
            "template_id", "channel", "day", "country", "sent", "segments", "cost"
        )
    )
    return daily, decisions, slices, reasons, countries


def backfill(*args):
    out = io.StringIO()
    call_command("rollups_backfill", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def history(settings, contact, live_template, template_factory):
    """Messages of two templates on two channels, every outcome, with engagement, one of
    them yesterday."""
    settings.HUB_SMS_COST_PER_SEGMENT = "0.0400"
    other = template_factory("order.delayed")
    for template in (live_template, other):
        for outcome in ("delivered", "failed", "bounced", "sent", "queued"):
            make_message(template=template, contact=contact, outcome=outcome)
    email = make_message(template=live_template, contact=contact, channel="email", outcome="delivered")
    make_message(
        template=other,
        contact=contact,
        outcome="blocked",
        fields={"blocked": {"block_reason": "no_consent"}},
    )
    # A fast provider's report before "sent" (counted as sent too), and a deferral.
    quick = make_message(template=other, contact=contact, outcome="queued")
    later = make_message(template=other, contact=contact, outcome="queued")
    for change in (Change(quick.id, "sending"), Change(quick.id, "delivered"), Change(later.id, "deferred")):
        messages_transition([change], actor=Actor.system(), source="test")
    yesterday = timezone.now() - timedelta(days=1)
    outcomes_apply(
        [
            Outcome(message_id=email.id, engagement="opened"),
            Outcome(message_id=email.id, engagement="opened", occurred_at=yesterday),
            Outcome(message_id=email.id, engagement="clicked"),
            Outcome(message_id=email.id, engagement="complained"),
        ],
        actor=Actor.system(),
        source="test",
    )


def test_a_rebuild_gives_the_rows_the_live_effects_wrote_and_a_second_run_the_same(history):
    live = snapshot()
    assert any(row[7] == 1 for row in live[0])  # something was opened
    assert any(row[-1] > Decimal(0) for row in live[0])  # and something cost
    today = timezone.now().date()
    assert live[1] == [(today, "blocked", "no_consent", 1), (today, "deferred", "scheduled", 1)]
    assert live[2] and live[3]  # breakdowns and reasons were written live
    DailyRollup.objects.update(sent=999, opened=0, accepted=0)
    DecisionRollup.objects.all().delete()
    SliceRollup.objects.update(sent=7)
    ReasonRollup.objects.all().delete()
    output = backfill("--chunk-size", "5")
    assert snapshot() == live
    assert "5/14 messages" in output and "14/14 messages" in output and "Rebuilt" in output
    backfill()
    assert snapshot() == live


def test_engagement_counts_on_the_day_it_happened(history, live_template):
    today = timezone.now().date()
    email = {row.day: row for row in DailyRollup.objects.filter(template=live_template, channel="email")}
    assert (email[today].opened, email[today - timedelta(days=1)].opened) == (1, 1)
    backfill()
    email = {row.day: row for row in DailyRollup.objects.filter(template=live_template, channel="email")}
    assert (email[today].opened, email[today - timedelta(days=1)].opened) == (1, 1)
