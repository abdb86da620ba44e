"""A message's address in the stock message admin is masked for those who read addresses masked
(Support, issue 20), as on the contact's page; Compliance reads it in full. Support could read a
contact's full phone number here by opening any of its messages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import make_message


@pytest.mark.parametrize(("role", "shown", "hidden"), [("Support", "+44•••••••456", "7911123456"),
                                                      ("Compliance", "+447911123456", "•••")])  # fmt: skip
def test_the_message_page_masks_the_address_for_support(
    client, staff_factory, contact, live_template, role, shown, hidden
):
    message = make_message(template=live_template, contact=contact, outcome="delivered")
    client.force_login(staff_factory(role))
    page = client.get(reverse("admin:messaging_message_change", args=[message.pk])).content.decode()
    assert shown in page and hidden not in page
