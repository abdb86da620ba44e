"""The sandbox outbox and the message pages are real admin pages."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from hub.messaging.models import Message
from tests.factories import ORDER_DATA


@pytest.fixture
def admin_client_logged_in(client, db):
    get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.login(username="root", password="pw")
    return client


@pytest.mark.django_db
def test_outbox_and_message_pages_show_a_sent_message(
    admin_client_logged_in, authed_client, live_template, contact, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        authed_client.post(
            "/api/v1/notifications",
            {
                "template": "order.shipped",
                "to": {"external_id": "cust-1"},
                "channels": ["sms"],
                "data": ORDER_DATA,
            },
            format="json",
        )
    message = Message.objects.get()
    outbox = admin_client_logged_in.get("/admin/providers/sandboxoutboxentry/")
    assert outbox.status_code == 200
    assert str(message.id) in outbox.content.decode()
    page = admin_client_logged_in.get(f"/admin/messaging/message/{message.id}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Delivered" in html and "sandbox" in html


@pytest.mark.django_db
def test_support_user_can_view_messages_but_not_api_keys(client, live_template):
    from hub.roles import roles_ensure

    roles_ensure()
    from django.contrib.auth.models import Group

    user = get_user_model().objects.create_user("sue", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Support"))
    client.login(username="sue", password="pw")
    assert client.get("/admin/messaging/message/").status_code == 200
    assert client.get("/admin/apikeys/apikey/").status_code == 403
