"""P6 via dispatch: the COPY-written queued messages are ones the real pipeline sends."""

from __future__ import annotations

import pytest

from bench.memory_run import queued_fill
from hub.messaging import dispatch
from hub.messaging.models import Message
from hub.messaging.models import MessageStatus as S
from tests.hub.messaging.recording import CALLS, RECORDING


@pytest.mark.django_db(transaction=True)
def test_filled_messages_are_queued_and_sent_by_the_pipeline(settings):
    settings.HUB_PROVIDERS = RECORDING
    CALLS.clear()
    ids = queued_fill(count=5, channel="sms")
    assert ids == sorted(ids)  # time-ordered, as the workers claim them
    assert Message.objects.filter(id__in=ids, status=S.QUEUED).count() == 5
    report = dispatch.messages_dispatch(message_ids=ids)
    assert (report.claimed, report.sent) == (5, 5)
    assert [c.content["text"] for c in CALLS] == ["Hi Ada, your code is 123456."] * 5
    assert set(Message.objects.filter(id__in=ids).values_list("status", flat=True)) == {S.SENT}
    CALLS.clear()
