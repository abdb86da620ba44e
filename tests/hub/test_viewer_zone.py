"""Admin dates show in the viewer's own zone, named on the page (issue 20 point 5: "Send at"
and every date were UTC with no zone shown)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from hub.viewer_zone import COOKIE, zone_named
from tests.factories import make_staff_user

pytestmark = pytest.mark.django_db


def test_the_page_names_the_zone_dates_are_shown_in(client):
    client.force_login(make_staff_user("Operator"))
    page = client.get(reverse("admin:index")).content.decode()
    assert "Times in UTC." in page and "hub_tz=" in page  # the script that reports the zone
    client.cookies[COOKIE] = "Asia/Tokyo"
    page = client.get(reverse("admin:index")).content.decode()
    assert "Times in Asia/Tokyo." in page


def test_a_date_is_rendered_in_the_viewers_zone(client):
    import zoneinfo

    from django.conf import settings
    from django.utils import dateformat, timezone

    from hub.apikeys.services import apikey_create

    key = apikey_create(name="shop").api_key
    client.force_login(make_staff_user("Operator"))
    url = reverse("admin:apikeys_apikey_change", args=[key.pk])

    def shown(zone: str) -> str:
        local = timezone.localtime(key.created_at, zoneinfo.ZoneInfo(zone))
        return dateformat.format(local, settings.DATETIME_FORMAT)

    client.cookies[COOKIE] = "Asia/Tokyo"
    page = client.get(url).content.decode()
    assert shown("Asia/Tokyo") in page and shown("UTC") not in page
    del client.cookies[COOKIE]
    assert shown("UTC") in client.get(url).content.decode()


@pytest.mark.parametrize("junk", ["", "Not/AZone", "../../etc/passwd", "UTC" * 40, "Europe/London\x00"])
def test_only_real_zones_are_taken(junk):
    assert zone_named(junk) is None
    assert zone_named("Europe/London") is not None


def test_the_zone_does_not_leak_into_the_api(client, authed_client):
    authed_client.cookies[COOKIE] = "Asia/Tokyo"
    response = authed_client.get("/api/v1/templates")
    assert response.status_code == 200
