"""DELETE /api/v1/contacts/{external_id}: the person's data is gone from contacts, messages and
rendered content; a hashed suppression keeps them from being re-contacted; the audit chain
still verifies and holds nothing readable of theirs."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from audit.digests import address_digest
from audit.models import AuditRecord
from hub.contacts.models import ConsentEntry, Contact, Device, InboundMessage, Suppression
from hub.messaging.models import Message, Notification
from hub.providers.models import SandboxOutboxEntry
from tests.factories import ORDER_DATA, grant_consent, zone_at_local_hour

EMAIL, PHONE = "ada@example.com", "+447911123456"


@pytest.mark.django_db
def test_erasure_removes_personal_data_and_keeps_a_hashed_suppression(
    authed_client, live_template, marketing_template, contact, django_capture_on_commit_callbacks
):
    Device.objects.create(contact=contact, kind="fcm", token="fcm-secret-token")
    grant_consent(contact, "sms", "email")
    InboundMessage.objects.create(contact=contact, channel="sms", from_address=PHONE, body="Hello it's Ada")
    with django_capture_on_commit_callbacks(execute=True):
        sent = authed_client.post(
            "/api/v1/notifications",
            {
                "template": "order.shipped",
                "to": {"external_id": "cust-1"},
                "channels": ["sms", "email"],
                "routing": "all",
                "data": ORDER_DATA,
            },
            format="json",
        )
    assert sent.status_code == 202
    # A marketing SMS waiting for the morning: erasure must stop it.
    Contact.objects.filter(pk=contact.pk).update(timezone=zone_at_local_hour(3))
    deferred = authed_client.post(
        "/api/v1/notifications",
        {
            "template": "promo.spring",
            "to": {"external_id": "cust-1"},
            "channels": ["sms"],
            "data": {"first_name": "Ada", "unsubscribe_url": "u", "postal_address": "p"},
        },
        format="json",
    ).json()["messages"][0]
    assert deferred["status"] == "deferred"
    assert SandboxOutboxEntry.objects.filter(to=PHONE).exists()

    response = authed_client.delete("/api/v1/contacts/cust-1")
    assert response.status_code == 200, response.content
    assert response.json()["stopped"] == 1

    assert not Contact.objects.filter(external_id="cust-1").exists()
    assert not Device.objects.exists() and not ConsentEntry.objects.exists()
    assert Message.objects.get(id=deferred["id"]).block_reason == "erased"
    for message in Message.objects.all():
        assert message.to == "" and message.rendered == {}
    for notification in Notification.objects.all():
        assert notification.to == {} and notification.data == {}
    for entry in SandboxOutboxEntry.objects.all():
        assert entry.to == "" and entry.content == {}
    assert InboundMessage.objects.get().body == ""
    hashed = {(s.channel, s.address_hash): s for s in Suppression.objects.all()}
    assert set(hashed) == {("email", address_digest(EMAIL)), ("sms", address_digest(PHONE))}
    assert all(s.address == "" and s.reason == "erasure" for s in hashed.values())

    # The audit chain verifies and holds none of their data in readable form.
    call_command("verify_audit")
    dump = json.dumps(list(AuditRecord.objects.values("payload", "object_id")))
    for secret in (EMAIL, PHONE, "Ada", "fcm-secret-token", "cust-1"):
        assert secret not in dump, secret
    assert AuditRecord.objects.filter(action="contact.erased").count() == 1


@pytest.mark.django_db
def test_a_stale_import_does_not_re_contact_an_erased_person(authed_client, marketing_template, contact):
    """Re-created from an old CRM export with the same address, they stay suppressed."""
    authed_client.delete("/api/v1/contacts/cust-1")
    authed_client.put("/api/v1/contacts/cust-2", {"email": EMAIL, "timezone": "Europe/London"}, format="json")
    grant_consent(Contact.objects.get(external_id="cust-2"), "email")
    body = authed_client.post(
        "/api/v1/notifications",
        {
            "template": "promo.spring",
            "to": {"external_id": "cust-2"},
            "channels": ["email"],
            "data": {"first_name": "A", "unsubscribe_url": "u", "postal_address": "p"},
        },
        format="json",
    ).json()
    message = body["messages"][0]
    assert (message["status"], message["block_reason"]) == ("blocked", "suppressed")
    assert "(erasure)" in message["decision"]["sentence"]


@pytest.mark.django_db
def test_erasing_an_unknown_contact_is_404(authed_client):
    assert authed_client.delete("/api/v1/contacts/nobody").status_code == 404


@pytest.mark.postgres  # server-side binding: a statement takes at most 65,535 parameters
@pytest.mark.django_db
def test_a_contact_with_more_messages_than_a_statement_takes_parameters_is_erased(
    authed_client, live_template, contact, django_capture_on_commit_callbacks
):
    """70,000 sent messages and 3 waiting: the id lists go in chunks (``ERASURE_CHUNK``),
    where one statement naming them all was refused by PostgreSQL."""
    from django.db import connection

    body = {
        "template": "order.shipped",
        "to": {"external_id": "cust-1"},
        "channels": ["sms"],
        "data": ORDER_DATA,
    }
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            assert authed_client.post("/api/v1/notifications", body, format="json").status_code == 202
    Message.objects.update(status="queued")
    notification = Notification.objects.first()
    assert notification is not None
    with connection.cursor() as cursor:
        cursor.execute(
            'INSERT INTO messaging_message (id, notification_id, channel, category, "to", locale, status, '
            "block_reason, attempts, provider, provider_message_id, error_code, error_message, "
            "needs_reconciliation, rendered, created_at, status_changed_at, decided_by, decision) "
            "SELECT gen_random_uuid(), %s, 'sms', 'transactional', %s, 'en', 'sent', '', 1, 'sandbox', "
            "'', '', '', false, '{}'::jsonb, now(), now(), '', '{}'::jsonb FROM generate_series(1, 70000)",
            [notification.id, PHONE],
        )

    response = authed_client.delete("/api/v1/contacts/cust-1")

    assert response.status_code == 200, response.content
    assert (response.json()["stopped"], response.json()["messages"]) == (3, 70_003)
    assert not Message.objects.exclude(to="").exists()
    assert Message.objects.filter(status="blocked", block_reason="erased").count() == 3
