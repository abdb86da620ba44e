"""Issue 16: the accept counts "accepted" by an INSERT of its own (``AcceptedPending``), not by
upserting the shared rollup rows in its transaction; ``rollups_fold_accepted`` adds those
counts to the rollups exactly once (a fold that fails leaves them for the next one), and the
rebuild takes them over."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from hub.messaging import rollups
from hub.messaging.intake import NotificationRequest, notifications_accept
from hub.messaging.models import AcceptedPending, DailyRollup, SliceRollup
from hub.messaging.rollups import rollups_fold_accepted
from tests.factories import ORDER_DATA

pytestmark = pytest.mark.django_db


def accept(n: int, *, reference: str = "") -> None:
    requests = [
        NotificationRequest(
            template="order.shipped",
            to={"phone": f"+4479111{i:05d}"},
            data=ORDER_DATA,
            channels=["sms"],
            reference=reference,
        )
        for i in range(n)
    ]
    notifications_accept(requests, api_key=None)


def accepted(template) -> int:
    row = DailyRollup.objects.filter(template=template, channel="sms", day=timezone.now().date()).first()
    return row.accepted if row is not None else 0


def test_an_accept_writes_a_pending_count_and_the_fold_adds_it_once(live_template):
    accept(3)
    accept(2)
    assert accepted(live_template) == 0  # nothing written to the shared rows by the accepts
    assert sorted(AcceptedPending.objects.values_list("channel", "count")) == [("sms", 2), ("sms", 3)]

    assert rollups_fold_accepted() == 5
    assert accepted(live_template) == 5
    (row,) = SliceRollup.objects.filter(template=live_template).values_list("provider", "accepted")
    assert row == ("", 5)  # decided before any hand-off: counted under no provider
    assert not AcceptedPending.objects.exists()
    assert rollups_fold_accepted() == 0
    assert accepted(live_template) == 5


def test_a_fold_that_fails_leaves_every_count_for_the_next(live_template, monkeypatch):
    accept(4)

    def broken(self):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(rollups.Tally, "write", broken)
    with pytest.raises(RuntimeError):
        rollups_fold_accepted()
    monkeypatch.undo()
    assert AcceptedPending.objects.get().count == 4  # rolled back with the failed fold
    assert rollups_fold_accepted(chunk=1) == 4
    assert accepted(live_template) == 4


def test_the_rebuild_counts_the_pending_acceptances_and_takes_them_over(live_template):
    accept(3)
    call_command("rollups_backfill", stdout=io.StringIO())
    assert accepted(live_template) == 3
    assert not AcceptedPending.objects.exists()
    assert rollups_fold_accepted() == 0
    assert accepted(live_template) == 3


def test_staff_test_sends_leave_no_pending_count(live_template):
    accept(2, reference="template-test:someone")
    assert not AcceptedPending.objects.exists()
