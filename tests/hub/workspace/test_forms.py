"""The workspace's date fields (message search and export, reports, the contact page): a day the
hub cannot count from or to (0001-01-01, 9999-12-31) is a form error, never a 500 from date
arithmetic or a UUIDv7 bound."""

from __future__ import annotations

import pytest
from django.urls import reverse

from hub.contacts.models import Contact


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
@pytest.mark.parametrize(
    ("page", "fields"),
    [
        ("admin:workspace_workspacemessage_changelist", ("date_from", "date_to")),
        ("admin:workspace_workspacemessage_export", ("date_from", "date_to")),
        ("admin:workspace_report_changelist", ("date_from", "date_to")),
        ("contact", ("since", "until")),
    ],
)
def test_a_day_out_of_range_is_refused_not_a_500(client, staff_factory, contact, page, fields, day):
    client.force_login(staff_factory("Support" if page == "contact" else "Compliance"))
    url = (
        reverse("admin:workspace_contacttimeline_change", args=[contact.pk])
        if page == "contact"
        else reverse(page)
    )
    for field in fields:
        response = client.get(url, {field: day})
        assert response.status_code in (200, 400), (field, response.status_code)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert "between 2000-01-01 and 2999-12-31" in body.decode(), (field, body[:300])


def test_days_in_range_still_work(client, staff_factory, contact: Contact):
    client.force_login(staff_factory("Compliance"))
    url = reverse("admin:workspace_workspacemessage_changelist")
    assert client.get(url, {"date_from": "2000-01-01", "date_to": "2999-12-31"}).status_code == 200
