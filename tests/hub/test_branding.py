"""The pages the public sees carry the company's name and colour, read well in dark mode, and
never show Django's bare pages (issue 20 point 8: branded /u/ pages and error pages)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.test import RequestFactory

from hub.branding import brand_colour_checked

pytestmark = pytest.mark.django_db


@pytest.fixture
def branded(settings):
    settings.HUB_BRAND_NAME = "Example Bank"
    settings.HUB_BRAND_COLOUR = "#0b6e4f"
    settings.DEBUG = False


def test_a_missing_page_is_the_brands_404(client, branded):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    page = response.content.decode()
    assert "Page not found" in page and "<header>Example Bank</header>" in page
    assert "--brand: #0b6e4f" in page and "prefers-color-scheme: dark" in page


def test_the_api_still_answers_problem_json(client, branded):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404 and response["Content-Type"].startswith("application/problem+json")


def test_a_refusal_is_the_brands_403(branded):
    from django.views.defaults import permission_denied

    request = RequestFactory().get("/somewhere")
    response = permission_denied(request, PermissionDenied())
    assert response.status_code == 403
    assert b"You may not see this page" in response.content and b"Example Bank" in response.content


def test_an_invalid_unsubscribe_link_is_a_branded_page_in_the_readers_language(client, branded):
    response = client.get("/u/not-a-token", HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 404
    page = response.content.decode()
    assert "Ce lien n" in page and 'lang="fr"' in page and "Example Bank" in page


def test_the_preference_page_carries_the_brand(client, branded, contact):
    from hub.contacts.preferences import unsubscribe_token

    page = client.get(f"/u/{unsubscribe_token(contact, channel='email')}").content.decode()
    assert "<header>Example Bank</header>" in page and "<form" in page


@pytest.mark.parametrize("bad", ["red", "#12345", "#1234567", "#12345g", "#123456;}body{display:none"])
def test_only_a_plain_colour_may_reach_the_css(bad):
    with pytest.raises(ImproperlyConfigured):
        brand_colour_checked(bad)
    assert brand_colour_checked("#A1b2C3") == "#A1b2C3"
