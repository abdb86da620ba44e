"""Fan-out writes each released recipient's notification, messages, timeline and audit records
(streamed with COPY on PostgreSQL) exactly as a single send would have them."""

from __future__ import annotations

import pytest

from audit.models import AuditRecord
from audit.services import Actor
from hub.broadcasts.models import BroadcastRecipient, RecipientState
from hub.broadcasts.services import AudienceRow, BroadcastRequest, broadcast_create
from hub.messaging.models import Message, MessageEvent, Notification
from hub.messaging.models import MessageStatus as S
from tests.audit.log import audit_log_sequenced_and_verified
from tests.factories import make_contacts

DATA = {"order_number": "A-1"}


@pytest.mark.django_db(transaction=True)
def test_released_rows_are_complete_and_bad_data_is_skipped_per_recipient(live_template):
    contacts = make_contacts(3)
    request = BroadcastRequest(
        template="order.shipped",
        channels=["sms"],
        data=DATA,
        reference="spring",
        recipients=[
            AudienceRow("cust-1", {"first_name": "Ada"}),
            AudienceRow("cust-2", {}),  # first_name missing: this row only is skipped
            AudienceRow("cust-3", {"first_name": "Ada"}),  # same data as row 1: rendered once
        ],
    )
    broadcast = broadcast_create(request=request, api_key=None, actor=Actor.system())

    states = dict(BroadcastRecipient.objects.values_list("row", "state"))
    assert states == {1: RecipientState.RELEASED, 2: RecipientState.SKIPPED, 3: RecipientState.RELEASED}
    notifications = Notification.objects.order_by("broadcast_recipient__row")
    assert [n.contact_id for n in notifications] == [contacts[0].pk, contacts[2].pk]
    first = notifications[0]
    assert first.data == {**DATA, "first_name": "Ada"} and first.reference == "spring"
    assert first.template_version_id == live_template.live_version_id and first.created_at is not None
    assert first.send_at is None and first.cancelled_at is None and first.channels == ["sms"]
    messages = list(Message.objects.filter(notification__in=notifications))
    assert {(m.channel, m.to, m.status) for m in messages} == {
        ("sms", contacts[0].phone, S.DELIVERED),
        ("sms", contacts[2].phone, S.DELIVERED),
    }
    for m in messages:
        statuses = list(m.events.order_by("id").values_list("status", flat=True))
        assert statuses[:2] == [S.ACCEPTED, S.QUEUED]
        assert m.events.filter(status=S.ACCEPTED, source="broadcast").get().detail == {
            "broadcast": str(broadcast.id)
        }
    assert MessageEvent.objects.filter(status=S.ACCEPTED).count() == 2
    actions = list(AuditRecord.objects.values_list("action", flat=True))
    assert actions.count("notification.accepted") == 2 and actions.count("message.accepted") == 2
    assert audit_log_sequenced_and_verified().ok
