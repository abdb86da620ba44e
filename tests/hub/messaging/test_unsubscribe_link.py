"""Issue 20, point 2: unsubscribe by construction. The hub puts its own signed ``/u/`` link for
the contact and channel into every marketing message's render data; a caller never has to
send ``unsubscribe_url``, and a value it sends is ignored (SPEC §2)."""

from __future__ import annotations

import re

import pytest

from hub.contacts.models import Contact
from hub.contacts.preferences import unsubscribe_token_read
from hub.messaging.dispatch import messages_dispatch
from hub.messaging.models import Message, Notification
from tests.factories import grant_consent, zone_at_local_hour

URL = "/api/v1/notifications"


def _send(client, data):
    response = client.post(
        URL,
        {"template": "promo.spring", "to": {"external_id": "cust-u"}, "channels": ["email"], "data": data},
        format="json",
    )
    assert response.status_code == 202, response.content
    return response.json()["messages"]


@pytest.mark.django_db
def test_a_marketing_email_gets_the_hubs_own_unsubscribe_link_without_the_caller_sending_one(
    authed_client, marketing_template, settings
):
    contact = Contact.objects.create(
        external_id="cust-u", email="u@example.com", timezone=zone_at_local_hour(12)
    )
    grant_consent(contact, "email")
    # Before issue 20 this was refused: "'unsubscribe_url' is required".
    [accepted] = _send(authed_client, {"first_name": "Ada", "postal_address": "1 High St"})
    assert accepted["status"] == "queued", accepted
    messages_dispatch(message_ids=[accepted["id"]])
    message = Message.objects.get(id=accepted["id"])
    assert message.status in ("sent", "delivered"), message.error_message
    html = message.rendered["html"]
    [link] = re.findall(r"""href=["']([^"']+)""", html)
    assert link.startswith(f"{settings.HUB_BASE_URL}/u/")
    scope = unsubscribe_token_read(link.rsplit("/", 1)[1])
    assert scope is not None and (scope.contact_id, scope.channel) == (contact.pk, "email")
    assert scope.message_id == str(message.id)


@pytest.mark.django_db
def test_an_unsubscribe_url_the_caller_sends_is_ignored(authed_client, marketing_template, settings):
    contact = Contact.objects.create(
        external_id="cust-u", email="u@example.com", timezone=zone_at_local_hour(12)
    )
    grant_consent(contact, "email")
    data = {"first_name": "Ada", "postal_address": "1 High St", "unsubscribe_url": "https://evil.example/x"}
    [accepted] = _send(authed_client, data)
    assert "unsubscribe_url" not in Notification.objects.get().data
    messages_dispatch(message_ids=[accepted["id"]])
    html = Message.objects.get(id=accepted["id"]).rendered["html"]
    assert "evil.example" not in html and f"{settings.HUB_BASE_URL}/u/" in html
