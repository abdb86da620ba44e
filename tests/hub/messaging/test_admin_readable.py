"""A message as a person reads it in admin and on the compliance workspace's message page:
its decision, content, timeline details and audit records as labelled rows, its block reason
in words; no raw JSON or Python dict anywhere a person reads."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from hub.messaging.models import EventKind, Message, MessageEvent, Notification
from tests.factories import staff_user
from tests.hub.compliance.test_admin import decided_messages, login
from tests.pages import raw_structures, visible_text


@pytest.fixture
def message(marketing_template: Any) -> Message:
    messages: list[Message] = decided_messages(marketing_template, [22])
    [deferred] = messages
    Message.objects.filter(pk=deferred.pk).update(
        rendered={"text": "Spring sale, Ada! Reply STOP to opt out.", "encoding": "GSM-7"}
    )
    MessageEvent.objects.create(
        message=deferred,
        kind=EventKind.choices[0][0],
        status="deferred",
        detail={"not_before": "2026-12-07T08:00:00+00:00", "rules": [{"rule": "quiet_hours", "version": 1}]},
        source="test",
        occurred_at=timezone.now(),
    )
    return deferred


@pytest.mark.django_db
def test_message_admin_reads_in_labelled_rows(message: Message) -> None:
    client = login(staff_user("officer", "Compliance"))
    page = client.get(f"/admin/messaging/message/{message.pk}/change/").content.decode()
    text = visible_text(page)
    assert raw_structures(page) == [], text
    assert "Spring sale, Ada! Reply STOP to opt out." in text  # the content, labelled
    assert "Not before" in text and "Rules 1 → Rule" in text  # an event's detail, labelled
    assert "Decided by quiet_hours_marketing_sms v1" in text  # the decision, labelled


@pytest.mark.django_db
def test_workspace_message_page_reads_in_labelled_rows(message: Message) -> None:
    client = login(staff_user("officer", "Compliance"))
    page = client.get(f"/admin/workspace/workspacemessage/{message.pk}/change/").content.decode()
    assert raw_structures(page) == [], visible_text(page)
    assert "Not before" in visible_text(page)


@pytest.mark.django_db
def test_block_reason_in_words_on_the_message_page(message: Message) -> None:
    Message.objects.filter(pk=message.pk).update(status="blocked", block_reason="no_consent")
    client = login(staff_user("officer", "Compliance"))
    text = visible_text(
        client.get(f"/admin/workspace/workspacemessage/{message.pk}/change/").content.decode()
    )
    assert "blocked: No consent" in text and "no_consent" not in text


@pytest.mark.django_db
def test_notification_admin_reads_in_labelled_rows(message: Message) -> None:
    Notification.objects.filter(pk=message.notification_id).update(
        data={"first_name": "Ada", "order": {"number": "A-1"}}, channels=["sms", "email"]
    )
    client = login(staff_user("officer", "Compliance"))
    page = client.get(f"/admin/messaging/notification/{message.notification_id}/change/").content.decode()
    text = visible_text(page)
    assert raw_structures(page) == [], text
    assert "First name Ada" in text and "Order → Number A-1" in text and "sms, email" in text


@pytest.mark.django_db
def test_support_reads_the_address_masked_as_on_the_contacts_page(message: Message) -> None:
    """Support may not read addresses in full (issue 20 point 6): not on the contact's page, and
    not by opening the message or its notification instead."""
    Notification.objects.filter(pk=message.notification_id).update(to={"phone": message.to})
    support = login(staff_user("agent", "Support"))
    officer = login(staff_user("officer", "Compliance"))
    for path in (
        f"/admin/messaging/message/{message.pk}/change/",
        f"/admin/messaging/notification/{message.notification_id}/change/",
    ):
        masked = support.get(path)
        assert masked.status_code == 200
        assert message.to not in masked.content.decode()
        assert message.to[-3:] in visible_text(masked.content.decode())  # a•••/+44•••456: enough to confirm
        assert message.to in officer.get(path).content.decode()
