"""A contact's attributes, a consent entry's evidence and a suppression's detail read in admin
as labelled rows, not raw JSON."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from audit.services import Actor
from hub.contacts.models import ConsentEntry, Contact, Suppression
from hub.contacts.services import suppression_add
from tests.factories import grant_consent, staff_user
from tests.pages import raw_structures, visible_text

pytestmark = pytest.mark.django_db


def test_contact_consent_and_suppression_pages_read_in_words(client: Any) -> None:
    contact = Contact.objects.create(
        external_id="ada", phone="+447900000001", attributes={"tier": "gold", "regions": ["north", "east"]}
    )
    grant_consent(contact, "sms")
    ConsentEntry.objects.filter(contact=contact).update(evidence={"wording": "v3", "ip": "192.0.2.1"})
    client.force_login(staff_user("officer", "Compliance"))
    page = client.get(reverse("admin:contacts_contact_change", args=[contact.pk])).content.decode()
    assert raw_structures(page) == [], visible_text(page)
    assert "Tier gold" in visible_text(page) and "Regions north, east" in visible_text(page)
    entry = ConsentEntry.objects.get(contact=contact)
    page = client.get(reverse("admin:contacts_consententry_change", args=[entry.pk])).content.decode()
    assert raw_structures(page) == [] and "Wording v3" in visible_text(page)
    suppression_add(
        channel="sms",
        address="+447900000001",
        reason="complaint",
        actor=Actor.system(),
        detail={"source": "carrier"},
    )
    suppression = Suppression.objects.get()
    page = client.get(reverse("admin:contacts_suppression_change", args=[suppression.pk])).content.decode()
    assert raw_structures(page) == [] and "Source carrier" in visible_text(page)
