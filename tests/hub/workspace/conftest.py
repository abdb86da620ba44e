"""Workspace tests build histories of marketing messages: their contact lives where it is midday,
so the baseline's quiet hours for marketing SMS never defer them whatever the clock says."""

from __future__ import annotations

import pytest

from hub.contacts.models import Contact
from tests.factories import zone_at_local_hour


@pytest.fixture
def contact(db: None) -> Contact:
    return Contact.objects.create(
        external_id="cust-1", email="ada@example.com", phone="+447911123456", locale="en-GB",
        timezone=zone_at_local_hour(12),
    )  # fmt: skip
