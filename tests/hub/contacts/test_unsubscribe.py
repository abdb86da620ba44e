"""/u/{token}: RFC 8058 one-click POST without cookies or CSRF token; a GET page in the contact's
locale that changes nothing by itself; a preferences form that is CSRF-protected."""

from __future__ import annotations

import pytest
from django.test import Client

from hub.contacts.models import ConsentEntry
from hub.contacts.preferences import unsubscribe_token, unsubscribe_url
from tests.factories import grant_consent


@pytest.fixture
def browser() -> Client:
    """A client that enforces CSRF like a real deployment (the test client skips it by default)."""
    return Client(enforce_csrf_checks=True)


def path_of(url: str) -> str:
    return url.removeprefix("http://127.0.0.1:8000")


@pytest.mark.django_db
class TestOneClick:
    def test_one_click_post_withdraws_consent_with_no_cookie_and_no_csrf(self, browser, contact):
        grant_consent(contact, "email")
        url = unsubscribe_url(contact, channel="email")
        assert url.startswith("http://127.0.0.1:8000/u/")
        response = browser.post(
            path_of(url),
            "List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
            HTTP_USER_AGENT="MailClient/1.0",
        )
        assert response.status_code == 200, response.content
        latest = ConsentEntry.objects.filter(channel="email", purpose="marketing").latest("id")
        assert (latest.granted, latest.source) == (False, "one_click")
        assert latest.evidence["user_agent"] == "MailClient/1.0" and latest.evidence["rfc"] == "8058"
        assert not browser.cookies

    def test_a_post_without_the_one_click_body_changes_nothing(self, browser, contact):
        response = browser.post(f"/u/{unsubscribe_token(contact, channel='email')}", {"other": "1"})
        assert response.status_code == 400
        assert not ConsentEntry.objects.exists()

    def test_forged_token_is_refused_and_changes_nothing(self, browser, contact):
        token = unsubscribe_token(contact, channel="email")
        forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
        response = browser.post(
            f"/u/{forged}", "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
        )
        assert response.status_code == 404
        assert not ConsentEntry.objects.exists()

    def test_a_link_sent_before_a_key_rotation_still_unsubscribes(self, browser, contact, settings):
        """The old SECRET_KEY in SECRET_KEY_FALLBACKS (docs/security.md) keeps every unsubscribe
        link already sent working: an opt-out must never fail because an operator rotated a key."""
        grant_consent(contact, "email")
        token = unsubscribe_token(contact, channel="email")
        settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
        settings.SECRET_KEY = "a-rotated-secret-key-for-this-test-only-0123456789"
        response = browser.post(
            f"/u/{token}", "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
        )
        assert response.status_code == 200, response.content
        assert ConsentEntry.objects.filter(granted=False).count() == 1


@pytest.mark.django_db
class TestPreferencesPage:
    def test_get_shows_the_page_in_the_contacts_locale_and_changes_nothing(self, browser, contact):
        contact.locale = "fr-CA"
        contact.save()
        response = browser.get(f"/u/{unsubscribe_token(contact, channel='email')}")
        assert response.status_code == 200
        html = response.content.decode()
        assert '<html lang="fr">' in html and "Vos préférences de messages" in html
        assert "Me désabonner : Offres et actualités, e-mails" in html
        assert response["Content-Language"] == "fr"
        assert not ConsentEntry.objects.exists()

    def test_unknown_locale_falls_back_to_english(self, browser, contact):
        contact.locale = "pt-BR"
        contact.save()
        html = browser.get(f"/u/{unsubscribe_token(contact)}").content.decode()
        assert "Your message preferences" in html

    def test_preferences_form_needs_the_csrf_token(self, browser, contact):
        token = unsubscribe_token(contact)
        refused = browser.post(f"/u/{token}/preferences", {"confirm": "1"})
        assert refused.status_code == 403
        assert not ConsentEntry.objects.exists()

    def test_confirm_button_unsubscribes_and_the_grid_records_only_changes(self, browser, contact):
        grant_consent(contact, "sms", "email")
        token = unsubscribe_token(contact, channel="email")
        browser.get(f"/u/{token}")
        csrf = browser.cookies["csrftoken"].value
        done = browser.post(f"/u/{token}/preferences", {"confirm": "1", "csrfmiddlewaretoken": csrf})
        assert done.status_code == 302 and done["Location"].endswith("?saved=1")
        latest = ConsentEntry.objects.filter(channel="email").latest("id")
        assert (latest.granted, latest.source) == (False, "preference_page")
        before = ConsentEntry.objects.count()
        # The grid: keep SMS marketing (ticked), leave everything else as shown, untick transactional push.
        browser.post(
            f"/u/{token}/preferences",
            {
                "marketing:sms": "on",
                "transactional:email": "on",
                "transactional:sms": "on",
                "csrfmiddlewaretoken": csrf,
            },
        )
        new = list(ConsentEntry.objects.order_by("id")[before:].values_list("purpose", "channel", "granted"))
        assert new == [("transactional", "push", False)]
        page = browser.get(f"/u/{token}?saved=1").content.decode()
        assert "Your preferences are saved." in page and "You are unsubscribed" in page
