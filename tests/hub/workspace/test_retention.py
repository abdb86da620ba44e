"""Retention: past each channel's period the nightly purge removes rendered content and
addresses, and keeps the evidence (status, decision, timeline, audit hashes)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditRecord
from hub.contacts.models import InboundMessage
from hub.messaging.models import Message, Notification
from hub.workspace.models import RetentionPolicy
from hub.workspace.retention import retention_purge
from hub.workspace.tasks import purge_expired_personal_data
from tests.audit.log import audit_log_sequenced_and_verified
from tests.factories import make_message

DECIDED = {
    "blocked": {
        "block_reason": "no_consent",
        "decided_by": "consent v1",
        "decision": {"sentence": "No consent."},
    }
}


def age(message: Message, days: int) -> None:
    then = timezone.now() - timedelta(days=days)
    Message.objects.filter(id=message.id).update(created_at=then)
    Notification.objects.filter(id=message.notification_id).update(created_at=then)


@pytest.fixture
def policies(db):
    RetentionPolicy.objects.create(channel="sms", days=30)
    RetentionPolicy.objects.create(channel="email", days=365)


def test_old_personal_data_is_removed_and_evidence_kept(policies, contact, live_template):
    old = make_message(template=live_template, contact=contact, outcome="delivered")
    old_blocked = make_message(template=live_template, contact=contact, outcome="blocked", fields=DECIDED)
    recent = make_message(template=live_template, contact=contact, outcome="delivered")
    old_email = make_message(template=live_template, contact=contact, channel="email", outcome="delivered")
    in_flight = make_message(template=live_template, contact=contact, outcome="queued")
    for message in (old, old_blocked, old_email, in_flight):
        age(message, 40)
    reply = InboundMessage.objects.create(
        contact=contact, channel="sms", from_address=contact.phone, body="Thanks!"
    )
    InboundMessage.objects.filter(pk=reply.pk).update(received_at=timezone.now() - timedelta(days=40))

    counts = retention_purge(now=timezone.now())

    assert counts["messages"] == 2 and counts["inbound"] == 1
    old.refresh_from_db()
    assert (old.to, old.rendered) == ("", {})
    assert (old.status, old.provider_message_id) == ("delivered", f"SM{old.id.hex[:16]}")
    assert [e.status for e in old.events.all()] == ["accepted", "queued", "sending", "sent", "delivered"]
    old_blocked.refresh_from_db()
    assert (old_blocked.to, old_blocked.decision, old_blocked.decided_by) == (
        "",
        {"sentence": "No consent."},
        "consent v1",
    )
    for kept in (recent, old_email, in_flight):
        kept.refresh_from_db()
        assert kept.to, kept.channel
    reply.refresh_from_db()
    assert reply.body == "" and reply.from_address == ""
    record = AuditRecord.objects.get(action="retention.purged")
    assert record.payload["messages"] == 2
    assert audit_log_sequenced_and_verified().ok  # the audit trail itself is never touched


def test_notification_data_goes_after_the_longest_policy(policies, contact, live_template):
    message = make_message(template=live_template, contact=contact, outcome="delivered")
    age(message, 400)
    retention_purge(now=timezone.now())
    notification = Notification.objects.get(id=message.notification_id)
    assert (notification.data, notification.to) == ({}, {})


def test_nothing_without_a_policy(contact, live_template):
    message = make_message(template=live_template, contact=contact, outcome="delivered")
    age(message, 4000)
    assert purge_expired_personal_data() == {"messages": 0, "notifications": 0, "inbound": 0, "tracking": 0}
    assert not AuditRecord.objects.filter(action="retention.purged").exists()


def test_policy_changes_in_admin_are_audited(client, staff_factory, policies):
    user = staff_factory("Compliance")
    client.force_login(user)
    policy = RetentionPolicy.objects.get(channel="sms")
    response = client.post(
        reverse("admin:workspace_retentionpolicy_change", args=[policy.pk]), {"days": "90"}
    )
    assert response.status_code == 302
    record = AuditRecord.objects.get(action="retention.policy_changed")
    assert (record.actor_id, record.payload) == (str(user.pk), {"before": 30, "after": 90})


def test_zero_days_is_a_form_error(client, staff_factory, db):
    client.force_login(staff_factory("Compliance"))
    response = client.post(reverse("admin:workspace_retentionpolicy_add"), {"channel": "sms", "days": "0"})
    assert response.status_code == 200 and "days" in response.context["adminform"].form.errors
    assert not RetentionPolicy.objects.exists()
