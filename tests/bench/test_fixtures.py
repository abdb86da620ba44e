"""The bench's data helpers: what an earlier run left unsent is cancelled, and the fake Twilio
counts messages sent apart from other calls."""

from __future__ import annotations

import json
import urllib.request

import pytest

from bench.fakes.server import FakeServer
from bench.fakes.twilio import ACCOUNT_SID
from bench.fixtures import queued_messages_create, unsent_cancel
from hub.messaging.models import Message
from hub.messaging.models import MessageStatus as S


@pytest.mark.django_db
def test_unsent_messages_are_cancelled_through_the_lifecycle_and_sent_ones_kept() -> None:
    waiting = queued_messages_create(count=3)
    sent = queued_messages_create(count=1)
    Message.objects.filter(id__in=sent).update(status=S.SENT)

    assert unsent_cancel(chunk=2) == 3

    assert set(Message.objects.filter(id__in=waiting).values_list("status", flat=True)) == {S.CANCELLED}
    assert Message.objects.get(id=sent[0]).status == S.SENT
    last = list(Message.objects.get(id=waiting[0]).events.order_by("id"))[-1]
    assert (last.status, last.detail) == (S.CANCELLED, {"reason": "bench_leftover"})
    assert unsent_cancel() == 0


def test_the_fake_twilio_counts_a_price_lookup_as_a_call_but_not_a_message_sent(
    fake_twilio: FakeServer,
) -> None:
    url = f"{fake_twilio.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/SM{'0' * 32}.json"
    with pytest.raises(urllib.error.HTTPError):  # no credentials: 401, still a call
        urllib.request.urlopen(url, timeout=5)  # noqa: S310 - the local fake
    with urllib.request.urlopen(f"{fake_twilio.base_url}/__calls", timeout=5) as answer:  # noqa: S310
        assert json.load(answer) == {"calls": 1, "units": 0}


def test_the_bench_writes_only_to_a_database_of_its_own() -> None:
    """It cancels every message waiting to be sent: on a hub's real database, its customers'."""
    from bench.fixtures import bench_database_refusal

    postgres = "django.db.backends.postgresql"
    assert "will not run on the database 'switchboard'" in bench_database_refusal(
        {"ENGINE": postgres, "NAME": "switchboard"}
    )
    for name in ("switchboard_bench", "switchboard_bench_homes", "test_switchboard_ci_1_s"):
        assert bench_database_refusal({"ENGINE": postgres, "NAME": name}) == "", name
    assert (
        bench_database_refusal({"ENGINE": "django.db.backends.sqlite3", "NAME": "var/switchboard.sqlite3"})
        == ""
    )


@pytest.mark.django_db
def test_leftovers_are_not_cancelled_on_a_database_not_the_benchs(monkeypatch) -> None:
    from bench import fixtures

    monkeypatch.setattr(fixtures, "bench_database_refusal", lambda: "not a bench database")
    with pytest.raises(fixtures.NotABenchDatabase, match="not a bench database"):
        fixtures.unsent_cancel()


def test_the_bench_command_refuses_a_database_not_its_own(monkeypatch) -> None:
    from django.core.management import CommandError, call_command

    from bench import command

    monkeypatch.setattr(command, "bench_database_refusal", lambda: "not a bench database")
    with pytest.raises(CommandError, match="not a bench database"):
        call_command("bench", "--smoke", "--only", "renders")
