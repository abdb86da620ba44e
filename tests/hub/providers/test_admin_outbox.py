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


@pytest.mark.django_db
def test_an_outbox_entry_shows_headers_and_the_rendered_body_not_json(admin_client_logged_in):
    """Issue 20 point 5: outbox entries were a JSON dump; the page now shows the headers a real
    provider would send and the body as the recipient would see it (HTML in a sandboxed frame)."""
    from hub.providers.base import OutboundMessage
    from hub.providers.models import SandboxOutboxEntry
    from hub.providers.sandbox import SandboxProvider

    provider = SandboxProvider("sandbox-email", channel="email")
    html = '<p>Hello <b>Ada</b></p><script>alert("x")</script>'
    provider.send_many(
        [
            OutboundMessage(
                message_id="m-1",
                channel="email",
                to="ada@example.com",
                content={"subject": "Spring sale", "text": "Hello Ada", "html": html},
                category="marketing",
                metadata={"unsubscribe_url": "https://hub.example/u/tok", "reply_to": "help@example.com"},
            )
        ]
    )
    entry = SandboxOutboxEntry.objects.get()
    assert entry.headers == {
        "Message-ID": "<m-1@switchboard>",
        "To": "ada@example.com",
        "Subject": "Spring sale",
        "Reply-To": "help@example.com",
        "List-Unsubscribe": "<https://hub.example/u/tok>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    page = admin_client_logged_in.get(
        f"/admin/providers/sandboxoutboxentry/{entry.pk}/change/"
    ).content.decode()
    assert '<th scope="row" style="width: 12em">List-Unsubscribe</th>' in page
    assert "&lt;https://hub.example/u/tok&gt;" in page
    # The HTML is drawn in a frame that may run nothing; its markup is escaped into srcdoc.
    assert 'sandbox="" srcdoc="&lt;p&gt;Hello &lt;b&gt;Ada&lt;/b&gt;&lt;/p&gt;&lt;script&gt;' in page
    assert '<script>alert("x")</script>' not in page
    assert "{&quot;subject&quot;" not in page and '{"subject"' not in page  # no JSON dump


@pytest.mark.django_db
def test_an_sms_outbox_entry_shows_its_text_and_segments(admin_client_logged_in):
    from hub.providers.base import OutboundMessage
    from hub.providers.models import SandboxOutboxEntry
    from hub.providers.sandbox import SandboxProvider

    SandboxProvider("sandbox-sms", channel="sms").send_many(
        [OutboundMessage(message_id="m-2", channel="sms", to="+447700900123", content={"text": "x" * 200})]
    )
    entry = SandboxOutboxEntry.objects.get()
    assert entry.headers == {}
    page = admin_client_logged_in.get(
        f"/admin/providers/sandboxoutboxentry/{entry.pk}/change/"
    ).content.decode()
    assert "GSM-7 · 200 characters · 2 segment(s)" in page
    assert "only email carries headers" in page
