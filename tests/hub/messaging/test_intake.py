"""The intake: many notifications at once, each refused alone if it must be, in one
transaction and a fixed number of queries; every door's messages made the same way."""

from __future__ import annotations

import pickle
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import prefetch_related_objects
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditRecord
from audit.services import Actor
from hub.contacts.models import Contact
from hub.messaging.intake import (
    NotificationRejected,
    NotificationRequest,
    Origin,
    notification_next_channels,
    notifications_accept,
)
from hub.messaging.models import Message, MessageEvent, Notification
from hub.messaging.models import MessageStatus as S
from tests.audit.log import audit_log_sequenced_and_verified
from tests.factories import ALL_CHANNEL_VARIANTS, ORDER_DATA, make_contacts, make_device, make_live_template

pytestmark = pytest.mark.django_db


def requests_for(contacts, **overrides):
    return [
        NotificationRequest(
            template="order.shipped",
            to={"external_id": c.external_id},
            data=ORDER_DATA,
            channels=["push", "sms"],
            routing="all",
            **overrides,
        )
        for c in contacts
    ]


def accepted(results):
    assert all(isinstance(r, Notification) for r in results)
    return [r for r in results if isinstance(r, Notification)]


def queries_for(requests):
    with CaptureQueriesContext(connection) as captured:
        results = notifications_accept(requests, api_key=None)
    assert all(isinstance(r, Notification) for r in results)
    return len(captured)


def test_a_batch_costs_the_same_queries_whatever_its_size():
    make_live_template("order.shipped", variants=ALL_CHANNEL_VARIANTS)
    contacts = make_contacts(45)
    for c in contacts:
        make_device(c)  # push goes to each contact's newest device: looked up for all at once
        make_device(c)
    queries_for(requests_for(contacts[:1]))  # per-process caches (rules, versions) filled
    # On PostgreSQL a table's rows are one INSERT up to 50 rows, all of an accept's such
    # INSERTs one statement (audit.rows.rows_batched), and a COPY each beyond: a batch whose
    # timelines and records pass 50 rows costs a few statements more than a small one, the
    # same whatever its size. (3 and 5 contacts: 20 events and 25 records at most; 16 and 20:
    # over 50 events and records, 40 messages at most.)
    small = queries_for(requests_for(contacts[1:4]))
    assert queries_for(requests_for(contacts[4:9])) == small
    large = queries_for(requests_for(contacts[9:25]))
    assert queries_for(requests_for(contacts[25:])) == large
    assert small <= large
    newest = {
        c.pk: c.devices.order_by("-created_at", "-pk").values_list("pk", flat=True)[0] for c in contacts
    }
    pushes = Message.objects.filter(channel="push").values_list("to", "notification__contact_id")
    assert {to for to, _ in pushes} == {f"device:{newest[contact_id]}" for _, contact_id in pushes}
    assert Message.objects.count() == 90


def test_a_refused_item_is_refused_alone_in_its_place():
    make_live_template()
    make_contacts(2)
    requests = [
        NotificationRequest(template="order.shipped", to={"external_id": "cust-1"}, data=ORDER_DATA),
        NotificationRequest(template="no.such", to={"external_id": "cust-1"}, data=ORDER_DATA),
        NotificationRequest(template="order.shipped", to={"external_id": "nobody"}, data=ORDER_DATA),
        NotificationRequest(template="order.shipped", to={"external_id": "cust-2"}, data={}),
        NotificationRequest(template="order.shipped", to={"phone": "+447911123456"}, data=ORDER_DATA),
    ]
    results = notifications_accept(requests, api_key=None)
    codes = [r.code if isinstance(r, NotificationRejected) else "ok" for r in results]
    assert codes == ["ok", "unknown_template", "unknown_contact", "invalid_data", "ok"]
    assert Notification.objects.count() == 2
    first, last = accepted([results[0], results[4]])
    assert {n.id for n in Notification.objects.all()} == {first.id, last.id}
    assert AuditRecord.objects.filter(action="notification.accepted").count() == 2
    assert audit_log_sequenced_and_verified().ok


def test_each_item_keeps_its_own_send_at():
    make_live_template()
    later = timezone.now() + timedelta(hours=2)
    requests = [
        NotificationRequest(template="order.shipped", to={"phone": "+447911123456"}, data=ORDER_DATA),
        NotificationRequest(
            template="order.shipped", to={"phone": "+447911123457"}, data=ORDER_DATA, send_at=later
        ),
    ]
    now_one, later_one = accepted(notifications_accept(requests, api_key=None))
    assert [m.status for m in now_one.messages.all()] == [S.QUEUED]
    (deferred,) = later_one.messages.all()
    assert deferred.status == S.DEFERRED and deferred.not_before == later


def test_a_fallback_message_is_made_like_any_other():
    """The next channel gets the same accepted event and audit record as a first message,
    both naming where it came from."""
    make_live_template()
    Contact.objects.create(external_id="cust-1", phone="+447911123456", email="ada@example.com")
    (notification,) = accepted(
        notifications_accept(
            [NotificationRequest(template="order.shipped", to={"external_id": "cust-1"}, data=ORDER_DATA)],
            api_key=None,
        )
    )
    (first,) = notification.messages.all()
    notification = Notification.objects.select_related("template", "contact").get(pk=notification.pk)
    origin = Origin("routing", {"fallback_from": str(first.id), "reason": "test"})
    (created,) = notification_next_channels(
        notification=notification, channels=["email"], origin=origin, actor=Actor.system()
    )
    email = Message.objects.get(pk=created)
    assert (email.channel, email.to, email.status) == ("email", "ada@example.com", S.QUEUED)
    event = MessageEvent.objects.get(message=email, status=S.ACCEPTED)
    assert (event.source, event.detail) == ("routing", dict(origin.detail))
    record = AuditRecord.objects.get(action="message.accepted", object_id=str(email.id))
    assert record.payload["fallback_from"] == str(first.id)
    assert audit_log_sequenced_and_verified().ok


def test_an_accepted_notification_holds_its_messages_and_timelines_as_prefetched():
    """An accepted notification answers its messages and their events without a query, as
    prefetch_related leaves them (their querysets made only when asked); a filter still asks
    the database, and a relation cleared from the cache is read again."""
    make_live_template()
    requests = [
        NotificationRequest(
            template="order.shipped",
            to={"phone": "+447911123456", "email": "ada@example.com"},
            data=ORDER_DATA,
            channels=["sms", "email"],
            routing="all",
        )
    ]
    (notification,) = accepted(notifications_accept(requests, api_key=None))
    with CaptureQueriesContext(connection) as captured:
        assert "messages" in notification._prefetched_objects_cache
        messages = list(notification.messages.all())
        timelines = {m.channel: [(e.status, e.message is m) for e in m.events.all()] for m in messages}
        prefetch_related_objects([notification], "messages__events")
    assert len(captured) == 0
    assert [m.channel for m in messages] == ["sms", "email"]
    assert timelines == {c: [(S.ACCEPTED, True), (S.QUEUED, True)] for c in ("sms", "email")}
    assert [m.status for m in messages] == [S.QUEUED, S.QUEUED]
    with CaptureQueriesContext(connection) as captured:
        (sms,) = notification.messages.filter(channel="sms")
        (queued,) = messages[1].events.filter(status=S.QUEUED)
    assert len(captured) == 2
    assert (queued.message_id, queued.status) == (messages[1].pk, S.QUEUED)
    assert sms.pk == messages[0].pk
    copied = pickle.loads(pickle.dumps(notification))  # noqa: S301 - our own object
    with CaptureQueriesContext(connection) as captured:
        assert [m.pk for m in copied.messages.all()] == [m.pk for m in messages]
    assert len(captured) == 0
    notification.refresh_from_db(fields=["messages"])
    assert "messages" not in notification._prefetched_objects_cache
    with CaptureQueriesContext(connection) as captured:
        assert {m.pk for m in notification.messages.all()} == {m.pk for m in messages}
    assert len(captured) == 1
