"""Issue 20, point 7: in a CSV broadcast a bad address drops only its own channel. The row
keeps its other channels and the report says, in words, which row lost which channel."""

from __future__ import annotations

import re

import pytest

from hub.broadcasts.models import Broadcast, BroadcastRecipient
from hub.contacts.models import Contact
from hub.messaging.models import Message
from tests.hub.broadcasts.test_admin_report import (  # noqa: F401 - autouse fixture
    baseline_rules,
    report_of,
    spring,
    started,
)

MAPPING = {"col_0": "email", "col_1": "phone", "col_2": "data"}


@pytest.mark.django_db(transaction=True)
def test_a_bad_phone_drops_only_sms_and_the_email_still_goes(admin_client, spring):  # noqa: F811
    rows = [
        "email,mobile,first_name",
        "ada@example.com,+44 12,Ada",  # bad phone, good email: email only
        "bob@example.com,+447900000002,Bob",
        "not-an-email,,Nobody",  # nothing left: skipped as before
    ]
    report_url, page = report_of(
        admin_client, spring, rows, MAPPING, channels=["sms", "email"], routing="first"
    )
    assert re.search(r'id="report-valid">2<', page) and re.search(r'id="report-skipped">1<', page)
    assert "row 1: phone &#x27;+44 12&#x27; in &#x27;mobile&#x27; invalid, SMS skipped" in page
    report = Broadcast.objects.get().validation_report
    assert report["channels_dropped"] == 1
    assert report["reasons"] == {"invalid email in 'email'": 1}
    first = BroadcastRecipient.objects.get(row=1)
    assert first.state == "pending" and first.to == {"email": "ada@example.com"}

    # Transactional consent is not needed for this check: count what the engine made.
    started(admin_client, report_url)
    channels = dict(Message.objects.values_list("to", "channel"))
    assert channels["ada@example.com"] == "email"
    assert channels["+447900000002"] == "sms"


@pytest.mark.django_db(transaction=True)
def test_a_bad_phone_of_a_known_contact_falls_back_to_the_phone_on_file(admin_client, spring):  # noqa: F811
    Contact.objects.create(external_id="c-1", phone="+447900000001")
    rows = ["external_id,mobile,first_name", "c-1,12345,Ada"]
    _, page = report_of(
        admin_client,
        spring,
        rows,
        {"col_0": "external_id", "col_1": "phone", "col_2": "data"},
        channels=["sms"],
    )
    assert re.search(r'id="report-valid">1<', page)
    assert (
        "row 1: phone &#x27;12345&#x27; in &#x27;mobile&#x27; invalid, the contact&#x27;s phone on file is used"
        in page
    )


@pytest.mark.django_db(transaction=True)
def test_a_row_left_without_an_address_on_the_chosen_channel_names_the_bad_one(admin_client, spring):  # noqa: F811
    rows = ["email,mobile,first_name", "ada@example.com,+44 12,Ada"]
    _, page = report_of(admin_client, spring, rows, MAPPING, channels=["sms"])
    assert re.search(r'id="report-valid">0<', page)
    skipped = BroadcastRecipient.objects.get(row=1)
    assert skipped.error == "no address: the row has no valid phone number (mobile '+44 12' invalid)"
