"""Releasing a broadcast: a run that uses up its time queues the next run at once."""

from __future__ import annotations

import pytest

from audit.services import Actor
from hub.broadcasts.models import BroadcastStatus
from hub.broadcasts.services import BroadcastRequest, broadcast_create
from hub.messaging.models import Notification
from tests.factories import make_contacts

DATA = {"order_number": "A-1", "first_name": "A"}


def start(count: int):
    make_contacts(count, attributes={"tier": "gold"})
    request = BroadcastRequest(
        template="order.shipped", channels=["sms"], data=DATA, attribute_filter={"tier": "gold"}
    )
    return broadcast_create(request=request, api_key=None, actor=Actor.system())


@pytest.mark.django_db(transaction=True)
class TestRelease:
    def test_a_run_out_of_time_queues_the_next_so_all_go_without_beat(self, live_template, settings):
        """One batch per run (no time left after it): the follow-ups release every batch."""
        settings.HUB_BROADCAST_BATCH_SIZE = 4
        settings.HUB_BROADCAST_RELEASE_SECONDS = 0
        broadcast = start(10)
        broadcast.refresh_from_db()
        assert broadcast.status == BroadcastStatus.COMPLETED and broadcast.released == 10
        assert Notification.objects.count() == 10

    def test_without_follow_up_the_rest_waits_for_beat(self, live_template, settings):
        settings.HUB_BROADCAST_BATCH_SIZE = 4
        settings.HUB_BROADCAST_RELEASE_SECONDS = 0
        settings.HUB_BROADCAST_RELEASE_FOLLOW_UP = False
        broadcast = start(10)
        broadcast.refresh_from_db()
        assert broadcast.status == BroadcastStatus.RUNNING and broadcast.released == 4
