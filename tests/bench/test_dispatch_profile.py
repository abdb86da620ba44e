"""``python -m bench.dispatch_profile`` at a tiny size: both ways of dispatching are measured."""

from __future__ import annotations

from typing import Any

import pytest

from bench.dispatch_profile import dispatch_profile
from bench.fakes.server import FakeServer
from tests.fake_servers import twilio_entry
from tests.services import REDIS_BROKER_URL
from tests.worker import publishing_to, purge_queues


@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_the_profile_dispatches_broadcast_chunks_and_a_lane(settings: Any, fake_twilio: FakeServer) -> None:
    """The accepts publish to the real broker, where no worker takes them: the profile alone
    dispatches the messages."""
    settings.HUB_PROVIDERS = {**settings.HUB_PROVIDERS, "sms": [twilio_entry(fake_twilio)]}
    purge_queues(REDIS_BROKER_URL)
    with publishing_to(REDIS_BROKER_URL):
        rows = dispatch_profile(messages=4, chunk=2, limit=2, top=0)
    purge_queues(REDIS_BROKER_URL)
    assert [r.name for r in rows] == ["broadcast chunks of 2", "lane drain, up to 2"]
    assert all(r.items == 4 and r.calls > 0 and r.statements > 0 and r.cpu_ms > 0 for r in rows)
    assert fake_twilio.call_count == 2 + 8 + 8  # the warm-up chunk, then both ways
