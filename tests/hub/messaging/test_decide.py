"""Every new message is decided by the compliance engine; deferred ones are decided again
when due. The decision is stored on the message, in its audit record, and shown by the API."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditRecord
from audit.services import Actor
from hub.compliance.rules import rules_current
from hub.contacts.models import Contact
from hub.contacts.services import consent_record, suppression_add
from hub.messaging.decide import messages_decide
from hub.messaging.dispatch import messages_release_due
from hub.messaging.models import Message
from tests.audit.log import audit_log_sequenced_and_verified
from tests.factories import MARKETING_DATA, ORDER_DATA, grant_consent, zone_at_local_hour

URL = "/api/v1/notifications"


def send(client, external_id, channels=("sms",), template="promo.spring"):
    data = MARKETING_DATA if template == "promo.spring" else ORDER_DATA
    response = client.post(
        URL,
        {"template": template, "to": {"external_id": external_id}, "channels": list(channels), "data": data},
        format="json",
    )
    assert response.status_code == 202, response.content
    return response.json()["messages"]


def make_contact(external_id="cust-9", *, hour=12, **kw):
    return Contact.objects.create(
        external_id=external_id,
        email=kw.pop("email", f"{external_id}@example.com"),
        phone=kw.pop("phone", "+447911123456"),
        timezone=kw.pop("tz", zone_at_local_hour(hour)),
        **kw,
    )


@pytest.mark.django_db
class TestDecidedOnAccept:
    def test_marketing_without_consent_is_blocked_and_the_api_says_why(
        self, authed_client, marketing_template
    ):
        make_contact()
        [message] = send(authed_client, "cust-9")
        assert (message["status"], message["block_reason"]) == ("blocked", "no_consent")
        assert message["decided_by"] == "marketing_consent v1"
        assert (
            message["decision"]["sentence"]
            == "blocked by marketing_consent v1: no marketing sms consent is recorded"
        )
        shown = authed_client.get(f"/api/v1/messages/{message['id']}").json()
        assert shown["decision"]["sentence"] == message["decision"]["sentence"]

    def test_marketing_with_consent_in_daytime_is_queued(self, authed_client, marketing_template):
        grant_consent(make_contact(hour=12), "sms")
        [message] = send(authed_client, "cust-9")
        assert message["status"] == "queued"
        assert message["decision"]["outcome"] == "allow"

    def test_marketing_sms_at_night_is_deferred_to_the_window_with_a_sentence(
        self, authed_client, marketing_template
    ):
        contact = make_contact(hour=3)
        grant_consent(contact, "sms")
        [message] = send(authed_client, "cust-9")
        assert message["status"] == "deferred"
        assert message["decided_by"] == "quiet_hours_marketing_sms v1"
        assert f"{contact.timezone} is outside 08:00\u201321:00" in message["decision"]["sentence"]
        row = Message.objects.get(id=message["id"])
        assert row.not_before is not None and row.not_before > timezone.now()
        local_due = row.not_before.astimezone(ZoneInfo(contact.timezone))
        assert (local_due.hour, local_due.minute) == (8, 0)

    def test_decision_is_in_the_audit_record_without_personal_data(self, authed_client, marketing_template):
        make_contact()
        [message] = send(authed_client, "cust-9")
        record = AuditRecord.objects.get(object_id=message["id"], action="message.status_changed")
        assert record.payload["decision"]["sentence"] == message["decision"]["sentence"]
        assert record.payload["decided_by"] == "marketing_consent v1"
        assert "+447911123456" not in str(record.payload) and "example.com" not in str(record.payload)
        assert audit_log_sequenced_and_verified().ok

    def test_transactional_needs_no_consent_but_suppression_blocks_it(self, authed_client, live_template):
        make_contact(hour=3)
        [message] = send(authed_client, "cust-9", template="order.shipped")
        assert message["status"] == "queued"
        suppression_add(channel="sms", address="+447911123456", reason="sms_opt_out", actor=Actor.system())
        [again] = send(authed_client, "cust-9", template="order.shipped")
        assert (again["status"], again["block_reason"]) == ("blocked", "suppressed")

    def test_frequency_cap_counts_messages_already_sent_and_earlier_in_the_batch(self, marketing_template):
        """A cap of 2 per day: with one message already sent, the first of two new ones passes
        and the second is capped, in one decision batch."""
        from hub.compliance.models import Rule
        from hub.compliance.services import rule_create

        rule_create(
            key="cap",
            kind="frequency_cap",
            effect="block",
            category="marketing",
            params={"limit": 2, "window_hours": 24},
        )
        assert Rule.objects.filter(key="cap").exists()
        contact = make_contact(hour=12)
        grant_consent(contact, "email")
        from hub.messaging.models import Notification

        notification = Notification.objects.create(
            template=marketing_template, template_version=marketing_template.live_version, contact=contact
        )
        sent = Message.objects.create(
            notification=notification,
            channel="email",
            category="marketing",
            to="x@example.com",
            status="delivered",
        )
        assert sent.pk
        new = [
            Message.objects.create(
                notification=notification, channel="email", category="marketing", to="x@example.com"
            )
            for _ in range(2)
        ]
        changes = messages_decide(new, contacts={m.id: contact for m in new}, now=timezone.now())
        assert [c.to for c in changes] == ["queued", "blocked"]
        assert changes[1].fields["block_reason"] == "frequency_capped"


@pytest.mark.django_db
class TestDecidedAgainWhenDue:
    def _deferred(self, authed_client, contact):
        [message] = send(authed_client, contact.external_id)
        assert message["status"] == "deferred"
        Message.objects.filter(id=message["id"]).update(not_before=timezone.now() - timedelta(seconds=1))
        return message["id"]

    def test_consent_withdrawn_while_waiting_blocks_it_when_due(self, authed_client, marketing_template):
        contact = make_contact(hour=3)
        grant_consent(contact, "sms")
        message_id = self._deferred(authed_client, contact)
        consent_record(
            contact=contact,
            channel="sms",
            purpose="marketing",
            granted=False,
            source="sms_keyword",
            actor=Actor.system(),
        )
        messages_release_due()
        row = Message.objects.get(id=message_id)
        assert (row.status, row.block_reason, row.decided_by) == ("blocked", "opted_out", "opt_out v1")

    def test_still_in_quiet_hours_when_due_is_deferred_again(self, authed_client, marketing_template):
        contact = make_contact(hour=3)
        grant_consent(contact, "sms")
        message_id = self._deferred(authed_client, contact)
        messages_release_due()
        row = Message.objects.get(id=message_id)
        assert row.status == "deferred" and row.not_before is not None and row.not_before > timezone.now()
        assert [e.status for e in row.events.order_by("occurred_at", "id")] == [
            "accepted",
            "deferred",
            "deferred",
        ]

    def test_allowed_when_due_is_queued(
        self, authed_client, marketing_template, django_capture_on_commit_callbacks
    ):
        contact = make_contact(hour=3)
        grant_consent(contact, "sms")
        message_id = self._deferred(authed_client, contact)
        Contact.objects.filter(pk=contact.pk).update(timezone=zone_at_local_hour(12))
        with django_capture_on_commit_callbacks(execute=False):
            messages_release_due()
        row = Message.objects.get(id=message_id)
        assert row.decision["outcome"] == "allow"
        statuses = [e.status for e in row.events.order_by("occurred_at", "id")]
        assert statuses[:3] == ["accepted", "deferred", "queued"] and row.status in {"queued", "sent"}


@pytest.mark.django_db
def test_a_batch_costs_a_fixed_number_of_queries(marketing_template):
    """Deciding 5 or 50 messages costs the same number of queries: no query per message or rule."""
    from hub.messaging.models import Notification

    def batch(n):
        messages = []
        contacts = {}
        for i in range(n):
            contact = make_contact(f"q-{n}-{i}", phone=f"+4479111{i:05d}")
            grant_consent(contact, "sms")
            notification = Notification.objects.create(
                template=marketing_template, template_version=marketing_template.live_version, contact=contact
            )
            m = Message.objects.create(
                notification=notification, channel="sms", category="marketing", to=contact.phone
            )
            messages.append(m)
            contacts[m.id] = contact
        with CaptureQueriesContext(connection) as ctx:
            messages_decide(messages, contacts=contacts, now=timezone.now())
        return len(ctx.captured_queries)

    rules_current()  # the per-process rule set filled (hub.generations), as in a running hub
    assert batch(5) == batch(50)


@pytest.mark.django_db
def test_a_message_waiting_for_send_at_says_so_and_is_decided_again_when_due(
    authed_client, live_template, contact
):
    send_at = (timezone.now() + timedelta(hours=2)).replace(microsecond=0)
    body = authed_client.post(
        URL,
        {
            "template": "order.shipped",
            "to": {"external_id": "cust-1"},
            "channels": ["sms"],
            "data": ORDER_DATA,
            "send_at": send_at.isoformat(),
        },
        format="json",
    ).json()
    [message] = body["messages"]
    assert message["status"] == "deferred" and message["decided_by"] == ""
    assert message["decision"]["sentence"].startswith(f"scheduled for send_at {send_at:%Y-%m-%d %H:%M} UTC")
    suppression_add(channel="sms", address=contact.phone, reason="sms_opt_out", actor=Actor.system())
    Message.objects.filter(id=message["id"]).update(not_before=timezone.now() - timedelta(seconds=1))
    messages_release_due()
    row = Message.objects.get(id=message["id"])
    assert (row.status, row.block_reason, row.decided_by) == ("blocked", "suppressed", "suppression v1")
