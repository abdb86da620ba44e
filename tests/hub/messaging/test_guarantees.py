"""Delivery guarantees that hold without any worker process: transaction boundaries, the
sweeper, long deferrals, poison messages and permanent errors (SPEC §3)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from hub.messaging import dispatch
from hub.messaging.intake import NotificationRequest, notification_accept
from hub.messaging.lifecycle import Change, messages_transition
from hub.messaging.models import Message
from hub.messaging.models import MessageStatus as S
from hub.providers.errors import PermanentProviderError, RetryableProviderError
from tests.factories import ORDER_DATA
from tests.hub.messaging.recording import ACTOR, CALLS, ERRORS, queued_messages

pytestmark = pytest.mark.django_db(transaction=True)


def accept(template, **overrides):
    request = NotificationRequest(
        template=template.key, to={"phone": "+447911123456"}, data=ORDER_DATA, channels=["sms"], **overrides
    )
    return notification_accept(request=request, api_key=None)


@pytest.fixture
def enqueued(monkeypatch):
    """Record what would be put on the broker instead of running it."""
    sent: list[list[object]] = []
    monkeypatch.setattr(dispatch, "enqueue", lambda ids, **kw: sent.append(list(ids)))
    return sent


def test_rolled_back_transaction_enqueues_nothing(live_template, enqueued):
    def accept_then_fail():
        with transaction.atomic():
            accept(live_template)
            raise RuntimeError("the caller's transaction fails after accepting")

    with pytest.raises(RuntimeError):
        accept_then_fail()
    assert enqueued == []
    assert Message.objects.count() == 0


def test_committed_accept_enqueues_once(live_template, enqueued):
    notification = accept(live_template)
    assert enqueued == [[notification.messages.get().id]]


def test_broker_down_at_commit_loses_nothing(live_template, monkeypatch):
    """The request succeeds, the message stays queued, and the sweeper enqueues it later."""

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(dispatch, "enqueue", broker_down)
    notification = accept(live_template)
    assert notification.messages.get().status == S.QUEUED


def test_sweeper_picks_up_a_message_whose_enqueue_was_lost(live_template, enqueued, settings):
    settings.HUB_STUCK_AFTER_SECONDS = 60
    (message,) = queued_messages(live_template)
    Message.objects.filter(id=message.id).update(status_changed_at=timezone.now() - timedelta(minutes=5))
    requeued, flagged = dispatch.messages_sweep_stuck()
    assert (requeued, flagged) == (1, 0)
    assert enqueued == [[message.id]]


def test_sweeper_flags_a_message_stuck_in_sending(live_template, enqueued, settings):
    """A worker that died mid-hand-off: the message ends failed and flagged for reconciliation."""
    settings.HUB_STUCK_AFTER_SECONDS = 60
    (message,) = queued_messages(live_template)
    messages_transition([Change(message.id, S.SENDING)], actor=ACTOR, source="test")
    Message.objects.filter(id=message.id).update(status_changed_at=timezone.now() - timedelta(minutes=5))
    assert dispatch.messages_sweep_stuck() == (0, 1)
    message.refresh_from_db()
    assert (message.status, message.needs_reconciliation, message.error_code) == (
        S.FAILED,
        True,
        "handoff_unconfirmed",
    )


@pytest.mark.usefixtures("recording")
def test_long_deferral_is_released_and_sent_exactly_once(live_template, enqueued):
    """A send_at hours away waits in the database (not on the broker) and is sent once when due."""
    due = timezone.now() + timedelta(hours=6)
    notification = accept(live_template, send_at=due)
    message = notification.messages.get()
    assert message.status == S.DEFERRED and enqueued == []
    assert dispatch.messages_release_due() == 0  # not yet
    Message.objects.filter(id=message.id).update(not_before=timezone.now() - timedelta(seconds=1))
    assert dispatch.messages_release_due() == 1
    assert dispatch.messages_release_due() == 0  # already queued: released once
    for ids in enqueued * 3:  # even if the release were delivered three times
        dispatch.messages_dispatch(message_ids=ids)
    assert len(CALLS) == 1
    message.refresh_from_db()
    assert message.status == S.SENT


@pytest.mark.usefixtures("recording")
def test_poison_message_fails_without_looping(live_template, monkeypatch):
    """A message that breaks preparation ends failed at once and is never retried."""
    (message,) = queued_messages(live_template)

    def poisoned(renderer, message):
        raise ZeroDivisionError("bad data shape")

    monkeypatch.setattr(dispatch._Renderer, "__call__", poisoned)
    dispatch.messages_dispatch(message_ids=[message.id])
    dispatch.messages_dispatch(message_ids=[message.id])
    message.refresh_from_db()
    assert (message.status, message.error_code, message.attempts) == (S.FAILED, "internal_error", 1)
    assert CALLS == []


@pytest.mark.usefixtures("recording")
def test_provider_bug_fails_and_flags_for_reconciliation(live_template):
    (message,) = queued_messages(live_template)
    ERRORS.append(KeyError("provider module bug"))
    dispatch.messages_dispatch(message_ids=[message.id])
    message.refresh_from_db()
    assert (message.status, message.error_code, message.needs_reconciliation) == (
        S.FAILED,
        "unexpected",
        True,
    )


@pytest.mark.usefixtures("recording")
@pytest.mark.parametrize("code", ["21211", "21610", "400"])
def test_permanent_errors_are_never_retried(live_template, code):
    (message,) = queued_messages(live_template)
    ERRORS.append(PermanentProviderError("refused", code=code, http_status=400))
    dispatch.messages_dispatch(message_ids=[message.id])
    assert dispatch.messages_release_due() == 0
    dispatch.messages_dispatch(message_ids=[message.id])
    message.refresh_from_db()
    assert (message.status, message.attempts, len(CALLS)) == (S.FAILED, 1, 1)


@pytest.mark.usefixtures("recording")
def test_retryable_error_waits_in_database_then_is_released(live_template, enqueued):
    (message,) = queued_messages(live_template)
    ERRORS.append(RetryableProviderError("busy", code="503", retry_after=600))
    dispatch.messages_dispatch(message_ids=[message.id])
    message.refresh_from_db()
    assert message.status == S.QUEUED and message.not_before > timezone.now() + timedelta(minutes=9)
    assert enqueued == []  # ten minutes is too long for the broker: beat releases it
    Message.objects.filter(id=message.id).update(
        not_before=timezone.now() - timedelta(seconds=1),
        status_changed_at=timezone.now() - timedelta(minutes=11),
    )
    assert dispatch.messages_release_due() == 1
