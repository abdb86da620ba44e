"""Addressing at dispatch: the last check before a provider is handed a batch."""

from __future__ import annotations

import pytest

from audit.services import Actor
from hub.messaging.addressing import messages_block_undeliverable
from hub.messaging.models import Message
from hub.messaging.models import MessageStatus as S
from tests.hub.messaging.planning import by_key, plans_of, queue_unknown


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_undeliverable_check_reads_its_messages_by_key_whatever_the_statistics(live_template) -> None:
    """It read ``id IN (…) AND status = 'queued'``, which the planner could answer by walking
    the queue (tests/hub/messaging/planning.py)."""
    messages = queue_unknown(live_template)
    wanted = [m.id for m in messages[:10]]
    plans = plans_of(lambda: messages_block_undeliverable(message_ids=wanted, actor=Actor.system()))
    assert plans and all(by_key(plan) for plan in plans), plans
    assert set(Message.objects.filter(id__in=wanted).values_list("status", flat=True)) == {S.QUEUED}
