"""A broadcast's filter audience is counted against its API key's daily quota when the
broadcast starts (immediately or at its send_at), by the contacts the filter matches then:
the filter may match more by then than when the broadcast was created."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditRecord
from hub.apikeys.services import apikey_create
from hub.broadcasts.models import Broadcast, BroadcastStatus
from hub.broadcasts.services import broadcasts_start_due
from hub.messaging.models import Message
from tests.factories import key_client, make_contacts

URL = "/api/v1/broadcasts"
GOLD = {"filter": {"attributes": {"tier": "gold"}}}


def _broadcast(client, *, send_at=None):
    body = {
        "template": "order.shipped",
        "channels": ["sms"],
        "data": {"order_number": "A-1", "first_name": "Ada"},
        "audience": GOLD,
    }
    if send_at is not None:
        body["send_at"] = send_at.isoformat()
    return client.post(URL, body, format="json")


def _notify(client, contact):
    body = {
        "template": "order.shipped",
        "to": {"external_id": contact.external_id},
        "data": {"order_number": "A-2", "first_name": "Ada"},
    }
    return client.post("/api/v1/notifications", body, format="json").status_code


def _make_due(broadcast_id):
    Broadcast.objects.filter(id=broadcast_id).update(send_at=timezone.now() - timedelta(seconds=1))
    broadcasts_start_due()
    return Broadcast.objects.get(id=broadcast_id)


@pytest.mark.django_db(transaction=True)
class TestFilterAudienceQuota:
    def test_a_scheduled_broadcast_counts_the_contacts_matched_at_start(self, live_template, contact):
        client = key_client(apikey_create(name="quota", daily_quota=5))
        created = _broadcast(client, send_at=timezone.now() + timedelta(hours=1))
        assert created.status_code == 202, created.content
        make_contacts(3, prefix="gold", attributes={"tier": "gold"})  # joined after creation
        broadcast = _make_due(created.json()["id"])
        assert (broadcast.status, broadcast.total) == (BroadcastStatus.COMPLETED, 3)
        # 3 of the 5 are used: two more sends, then the quota is reached.
        assert [_notify(client, contact) for _ in range(3)] == [202, 202, 429]

    def test_a_scheduled_broadcast_over_the_quota_at_start_is_cancelled_and_sends_nothing(
        self, live_template, contact
    ):
        client = key_client(apikey_create(name="quota", daily_quota=5))
        make_contacts(2, prefix="gold", attributes={"tier": "gold"})
        created = _broadcast(client, send_at=timezone.now() + timedelta(hours=1))
        assert created.status_code == 202, created.content
        make_contacts(6, prefix="more", attributes={"tier": "gold"})
        broadcast = _make_due(created.json()["id"])
        assert broadcast.status == BroadcastStatus.CANCELLED
        assert not Message.objects.exists()
        record = AuditRecord.objects.get(action="broadcast.quota_exceeded", object_id=str(broadcast.id))
        assert record.payload["recipients"] == 8
        # Nothing was counted: the whole quota is still there.
        assert [_notify(client, contact) for _ in range(6)] == [202] * 5 + [429]

    def test_an_immediate_broadcast_over_the_quota_is_refused_with_retry_after(self, live_template):
        client = key_client(apikey_create(name="quota", daily_quota=2))
        make_contacts(3, prefix="gold", attributes={"tier": "gold"})
        response = _broadcast(client)
        assert response.status_code == 429
        assert response.json()["code"] == "quota_exceeded"
        assert int(response["Retry-After"]) <= 86400
        assert not Broadcast.objects.exists() and not Message.objects.exists()
