"""The role homes' figure (``bench.homes``) at a tiny scale: its fill agrees with itself and
with the rollups the lifecycle would have written, a second fill adds nothing, and each home
and the search box answer with their statements counted and EXPLAINed (no timing asserted)."""

from __future__ import annotations

import pytest
from django.db.models import Sum

from bench.homes import big_scans, homes_bench
from bench.homes_fill import REFERENCE, homes_fill
from hub.contacts.models import ConsentEntry, InboundMessage
from hub.messaging.models import DailyRollup, DecisionRollup, Message, MessageEvent, ReasonRollup

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_the_homes_figure_at_a_tiny_scale():
    # No audit fill here (P5's, tested with it): it analyses from the owner's connection, which
    # cannot see this test's rows and would record the trail as empty for the tests after it.
    figure = homes_bench(messages=3000, contacts=300, audit_records=0, loads=2, log=lambda _: None)

    messages = Message.objects.filter(notification__reference=REFERENCE)
    assert messages.count() == figure.fill.messages == figure.fill.added_messages == 3000
    assert figure.fill.contacts == 300
    # Spread over the outcomes of a real year: delivered the most, blocked by reason, failures.
    statuses = set(messages.values_list("status", flat=True))
    assert {"delivered", "sent", "blocked", "failed", "undelivered"} <= statuses
    assert not messages.filter(status="blocked", block_reason="").exists()
    # The rollups are what the lifecycle's fold would have counted for these messages.
    totals = DailyRollup.objects.aggregate(accepted=Sum("accepted"), sent=Sum("sent"), blocked=Sum("blocked"))
    assert totals["accepted"] == 3000
    assert totals["sent"] == messages.filter(status__in=["sent", "delivered", "undelivered"]).count()
    assert totals["blocked"] == messages.filter(status="blocked").count()
    decided = messages.filter(status__in=["blocked", "deferred"]).count()
    assert DecisionRollup.objects.aggregate(n=Sum("count"))["n"] == decided
    assert ReasonRollup.objects.aggregate(n=Sum("count"))["n"] == decided
    # The last days' hand-offs have their events (the operator's latency), inbound and opt-outs.
    assert MessageEvent.objects.filter(message__in=messages, status="sent").exists()
    assert InboundMessage.objects.count() == 30 and ConsentEntry.objects.filter(granted=False).count() == 30

    assert [p.what for p in figure.pages] == [
        "marketer home",
        "compliance home",
        "support home",
        "operator home",
        "support search box",
    ]
    for page in figure.pages:
        assert page.status == 200, page.what
        assert page.loads == 2 and 0 < page.p50_ms <= page.p99_ms
        assert page.statements > 0 and page.slowest_sql

    # Already there: a second fill adds nothing.
    again = homes_fill(messages=3000, contacts=300, audit_records=0, log=lambda _: None)
    assert again.added_messages == 0 and messages.count() == 3000


def test_big_scans_names_a_sequential_scan_of_a_big_table_and_skips_writes():
    found = big_scans(
        [
            'SELECT COUNT(*) FROM "messaging_message" WHERE "messaging_message"."to" LIKE \'%7911%\'',
            'UPDATE "auth_user" SET "last_login" = NOW() WHERE "auth_user"."id" = 1',
            "SELECT 1",
        ]
    )
    assert len(found) == 1 and found[0].startswith("messaging_message: SELECT COUNT(*)"), found
    # A scan a Limit stops early (a common search fragment) is named as such.
    bounded = big_scans(['SELECT "id" FROM "contacts_contact" LIMIT 100'])
    assert bounded == ['contacts_contact (under a Limit): SELECT "id" FROM "contacts_contact" LIMIT 100']
