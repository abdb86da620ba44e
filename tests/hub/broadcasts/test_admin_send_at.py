""" "Send at" on a CSV broadcast is a date-time picker in the viewer's own time zone (named on
the form), stored in UTC; a time that has passed, or one that is not a time, is an error on
the field and creates nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.urls import reverse

from hub.broadcasts.models import Broadcast
from hub.viewer_zone import COOKIE
from tests.hub.broadcasts.test_admin_csv import HEADER, MAPPING, csv_file
from tests.pages import raw_structures, visible_text

URL = "admin:broadcasts_broadcast_upload"


def post(admin_client: Any, template: Any, send_at: str) -> Any:
    data = {
        "name": "Spring",
        "template": template.pk,
        "routing": "first",
        "channels": ["sms"],
        "send_at": send_at,
    }
    return admin_client.post(reverse(URL), {**data, "csv_file": csv_file([HEADER, "+447900000001,Ada,A-1,"])})


@pytest.mark.django_db
class TestSendAt:
    def test_the_picker_names_the_viewers_zone(self, admin_client: Any) -> None:
        admin_client.cookies[COOKIE] = "America/New_York"
        page = admin_client.get(reverse(URL)).content.decode()
        assert 'type="datetime-local"' in page and 'name="send_at"' in page
        assert "In your time zone, America/New_York" in page
        assert "UTC, e.g." not in page

    def test_a_time_typed_in_the_viewers_zone_is_stored_in_utc(
        self, admin_client: Any, live_template: Any
    ) -> None:
        admin_client.cookies[COOKIE] = "America/New_York"
        response = post(admin_client, live_template, "2030-01-31T09:00")
        assert response.status_code == 302, response.content.decode()[-1500:]
        assert Broadcast.objects.get().send_at == datetime(2030, 1, 31, 14, 0, tzinfo=UTC)

    @pytest.mark.parametrize(
        ("send_at", "words"),
        [("2020-01-01T09:00", "has passed"), ("next tuesday", "must be a date and time")],
    )
    def test_a_bad_time_is_a_field_error_and_creates_nothing(
        self, admin_client: Any, live_template: Any, send_at: str, words: str
    ) -> None:
        response = post(admin_client, live_template, send_at)
        assert response.status_code == 200
        assert words in " ".join(response.context["form"].errors["send_at"])
        assert not Broadcast.objects.exists()


@pytest.mark.django_db
def test_the_broadcast_page_reads_in_words(admin_client: Any, live_template: Any) -> None:
    """Channels, the columns' roles and an attribute filter as labelled rows (they were raw JSON)."""
    response = post(admin_client, live_template, "")
    broadcast = Broadcast.objects.get()
    admin_client.post(response["Location"], MAPPING)
    Broadcast.objects.filter(pk=broadcast.pk).update(
        audience_filter={"tier": "gold", "region": ["north", "east"]}
    )
    page = admin_client.get(
        reverse("admin:broadcasts_broadcast_change", args=[broadcast.pk])
    ).content.decode()
    text = visible_text(page)
    assert raw_structures(page) == [], text
    assert "mobile Phone number (E.164)" in text and "notes Ignore" in text
    assert "region is one of north, east" in text and "Channels: sms" in text, text[text.find("Channels") :][
        :600
    ]
