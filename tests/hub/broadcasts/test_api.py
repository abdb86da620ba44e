"""POST/GET /api/v1/broadcasts, pause, resume, cancel; audience, de-duplication, rate, progress."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from hub.broadcasts.fanout import broadcast_release_batch
from hub.broadcasts.models import Broadcast, BroadcastRecipient, BroadcastStatus
from hub.broadcasts.services import broadcasts_start_due
from hub.messaging.models import Message, Notification
from tests.audit.log import audit_log_sequenced_and_verified
from tests.factories import make_contacts

URL = "/api/v1/broadcasts"
DATA = {"order_number": "A-1"}


def create(client, **body):
    payload = {"template": "order.shipped", "channels": ["sms"], "data": DATA, **body}
    return client.post(URL, payload, format="json")


def schedule_for_two(client):
    """A broadcast to two new contacts, an hour from now."""
    make_contacts(2)
    later = timezone.now() + timedelta(hours=1)
    return create(
        client,
        audience={"external_ids": ["cust-1", "cust-2"]},
        data={**DATA, "first_name": "A"},
        send_at=later.isoformat(),
    ).json()


def assert_sent_when_due(client, broadcast_id):
    """Once its send_at has come, the beat starts it and both messages are delivered."""
    Broadcast.objects.filter(id=broadcast_id).update(send_at=timezone.now() - timedelta(seconds=1))
    broadcasts_start_due()
    assert client.get(f"{URL}/{broadcast_id}").json()["progress"]["delivered"] == 2


@pytest.mark.django_db(transaction=True)
class TestCreate:
    def test_explicit_recipients_with_data_are_sent_and_deduplicated(self, authed_client, live_template):
        make_contacts(3)
        response = create(
            authed_client,
            audience={
                "recipients": [
                    {"external_id": "cust-1", "data": {"first_name": "Ada"}},
                    {"external_id": "cust-2", "data": {"first_name": "Alan"}},
                    {"external_id": "cust-1", "data": {"first_name": "Again"}},
                    {"external_id": "nobody", "data": {"first_name": "X"}},
                ]
            },
        )
        assert response.status_code == 202, response.content
        body = response.json()
        progress = body["progress"]
        assert (progress["rows"], progress["skipped"]) == (4, 2)
        assert progress["delivered"] == 2 and progress["done"] is True and progress["percent"] == 100
        assert body["status"] == "completed"
        texts = sorted(n.data["first_name"] for n in Notification.objects.all())
        assert texts == ["Ada", "Alan"]
        reasons = dict(BroadcastRecipient.objects.filter(state="skipped").values_list("row", "error"))
        assert reasons[3] == "duplicate of row 1" and reasons[4].startswith("unknown_contact: ")
        assert set(reasons) == {3, 4}
        assert audit_log_sequenced_and_verified().ok

    def test_filter_on_contact_attributes(self, authed_client, live_template):
        make_contacts(3, prefix="gold", attributes={"tier": "gold", "region": "north"})
        make_contacts(2, prefix="silver", attributes={"tier": "silver", "region": "north"})
        response = create(
            authed_client,
            audience={"filter": {"attributes": {"tier": ["gold"], "region": "north"}}},
            data={**DATA, "first_name": "you"},
        )
        assert response.status_code == 202, response.content
        assert response.json()["progress"]["total"] == 3
        assert set(Notification.objects.values_list("contact__external_id", flat=True)) == {
            "gold-1",
            "gold-2",
            "gold-3",
        }

    def test_bad_filter_key_is_422_and_bad_audience_400(self, authed_client, live_template):
        bad = create(authed_client, audience={"filter": {"attributes": {"tier; drop": "x"}}})
        assert bad.status_code == 422 and bad.json()["code"] == "invalid_filter"
        both = create(authed_client, audience={"external_ids": ["a"], "filter": {"attributes": {}}})
        assert both.status_code == 400 and both.json()["code"] == "invalid_request"
        assert not Broadcast.objects.exists()

    def test_send_at_schedules_and_beat_starts_it(self, authed_client, live_template):
        body = schedule_for_two(authed_client)
        assert body["status"] == "scheduled" and body["progress"]["pending"] == 2
        assert broadcasts_start_due() == []
        assert_sent_when_due(authed_client, body["id"])

    def test_rate_limits_each_release(self, authed_client, live_template):
        """60 a minute: a release may take ten seconds' worth (10), no more, until time passes."""
        make_contacts(30)
        ids = [f"cust-{n}" for n in range(1, 31)]
        body = create(
            authed_client,
            audience={"external_ids": ids},
            data={**DATA, "first_name": "A"},
            rate_per_minute=60,
        ).json()
        assert body["progress"]["released"] == 10
        assert broadcast_release_batch(broadcast_id=body["id"]) == 0  # bucket empty
        Broadcast.objects.filter(id=body["id"]).update(rate_checked_at=timezone.now() - timedelta(seconds=5))
        assert broadcast_release_batch(broadcast_id=body["id"]) == 5
        assert authed_client.get(f"{URL}/{body['id']}").json()["status"] == "running"

    def test_pause_resume_cancel(self, authed_client, live_template):
        make_contacts(30)
        ids = [f"cust-{n}" for n in range(1, 31)]
        body = create(
            authed_client,
            audience={"external_ids": ids},
            data={**DATA, "first_name": "A"},
            rate_per_minute=60,
        ).json()
        paused = authed_client.post(f"{URL}/{body['id']}/pause")
        assert paused.status_code == 200 and paused.json()["status"] == "paused"
        Broadcast.objects.filter(id=body["id"]).update(rate_checked_at=timezone.now() - timedelta(minutes=5))
        assert broadcast_release_batch(broadcast_id=body["id"]) == 0  # paused: nothing goes
        assert authed_client.post(f"{URL}/{body['id']}/pause").status_code == 409
        resumed = authed_client.post(f"{URL}/{body['id']}/resume").json()
        assert resumed["status"] == "running"
        cancelled = authed_client.post(f"{URL}/{body['id']}/cancel").json()
        assert cancelled["status"] == "cancelled"
        assert cancelled["progress"]["done"] is True
        assert BroadcastRecipient.objects.filter(broadcast_id=body["id"], state="pending").count() == 0
        assert Notification.objects.count() == 10
        again = authed_client.post(f"{URL}/{body['id']}/cancel")
        assert again.status_code == 409 and again.json()["code"] == "invalid_state"

    def test_resume_before_send_at_waits_for_it(self, authed_client, live_template):
        """Pausing a scheduled broadcast and resuming it must not send it early."""
        body = schedule_for_two(authed_client)
        assert authed_client.post(f"{URL}/{body['id']}/pause").json()["status"] == "paused"
        resumed = authed_client.post(f"{URL}/{body['id']}/resume").json()
        assert resumed["status"] == "scheduled" and resumed["started_at"] is None
        assert resumed["progress"]["pending"] == 2 and Notification.objects.count() == 0
        assert_sent_when_due(authed_client, body["id"])

    def test_other_keys_cannot_see_it(self, authed_client, live_template):
        from hub.apikeys.services import apikey_create
        from tests.factories import key_client

        make_contacts(1)
        body = create(
            authed_client, audience={"external_ids": ["cust-1"]}, data={**DATA, "first_name": "A"}
        ).json()
        assert key_client(apikey_create(name="other")).get(f"{URL}/{body['id']}").status_code == 404

    def test_missing_data_skips_the_row_with_a_reason(self, authed_client, live_template):
        make_contacts(1)
        body = create(authed_client, audience={"recipients": [{"external_id": "cust-1"}]}).json()
        assert body["progress"]["skipped"] == 1 and body["progress"]["total"] == 0
        assert BroadcastRecipient.objects.get().error.startswith("invalid_data: ")
        assert not Message.objects.exists()

    def test_blocked_counts_by_reason(self, authed_client, live_template):
        from hub.contacts.models import Contact

        Contact.objects.create(external_id="no-phone", email="x@example.com")
        body = create(
            authed_client, audience={"external_ids": ["no-phone"]}, data={**DATA, "first_name": "A"}
        ).json()
        assert body["progress"]["blocked"] == {"no_address": 1}
        assert body["status"] == BroadcastStatus.COMPLETED


@pytest.mark.django_db(transaction=True)
def test_idempotency_key_makes_one_broadcast(authed_client, live_template):
    make_contacts(2)
    body = {
        "template": "order.shipped",
        "audience": {"external_ids": ["cust-1", "cust-2"]},
        "data": {**DATA, "first_name": "A"},
    }
    first = authed_client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="spring-1")
    second = authed_client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="spring-1")
    assert first.status_code == second.status_code == 202
    assert second["Idempotent-Replayed"] == "true" and second.json()["id"] == first.json()["id"]
    assert Broadcast.objects.count() == 1 and Notification.objects.count() == 2
