"""seed_demo gives a newcomer everything needed to send a first message."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from hub.apikeys.models import ApiKey
from hub.apikeys.services import apikey_authenticate
from hub.contacts.models import Contact
from templates_app.models import Template
from templates_app.rendering import version_channels


def printed(capsys, label: str) -> str:
    """The value seed_demo printed after ``label: `` (one a line)."""
    return str(capsys.readouterr().out.split(f"{label}: ")[1].splitlines()[0].strip())


@pytest.mark.django_db
def test_seed_demo_is_complete_and_idempotent(capsys):
    call_command("seed_demo", force=True)
    first_key = printed(capsys, "Demo API key")
    call_command("seed_demo", force=True)
    second_key = printed(capsys, "Demo API key")

    shipped = Template.objects.get(key="order.shipped")
    offer = Template.objects.get(key="offer.spring")
    assert shipped.category == "transactional" and offer.category == "marketing"
    assert shipped.live_version is not None and offer.live_version is not None
    assert version_channels(shipped.live_version) == ["sms", "email", "push"]
    assert version_channels(offer.live_version) == ["sms", "email"]
    assert Contact.objects.count() == 3
    users = get_user_model().objects.filter(is_staff=True)
    roles = {g for u in users for g in u.groups.values_list("name", flat=True)}
    assert roles == {"Marketer", "Compliance", "Support", "Operator"}
    # Re-running revokes the old demo key and issues a new one.
    assert apikey_authenticate(raw=first_key) is None
    assert apikey_authenticate(raw=second_key) is not None
    assert ApiKey.objects.filter(name="demo").count() == 2


@pytest.mark.django_db
def test_seed_demo_templates_cover_both_categories_all_channels_two_locales_with_variables(capsys):
    """Every demo template passed the submit lint (seed_demo submits through the service)."""
    call_command("seed_demo", force=True)
    templates = list(Template.objects.all())
    assert {t.category for t in templates} == {"transactional", "marketing"}
    versions = [t.live_version for t in templates]
    assert all(versions)
    channels = {c for v in versions if v for c in version_channels(v)}
    assert channels == {"sms", "email", "push"}
    for template in templates:
        version = template.live_version
        assert version is not None
        # Notify's templates have no locales: the Notify-syntax demo templates are English only.
        locales = {"en"} if template.key.startswith("notify.") else {"en", "fr"}
        assert {v.locale for v in version.variants.all()} == locales, template.key
        assert version.variables.exists() and all(v.example for v in version.variables.all())
        assert version.layout_snapshot.get("postal_address")
    payment = Template.objects.get(key="payment.due").live_version
    assert payment is not None
    assert {v.type for v in payment.variables.all()} >= {"money", "date", "url"}


@pytest.mark.django_db
def test_seed_demo_refuses_with_debug_off_unless_forced(capsys):
    """Issue 14 point 9: no demo users with a published password on a real deployment."""
    with pytest.raises(CommandError, match="--force"):
        call_command("seed_demo")
    assert not get_user_model().objects.exists()
    assert not ApiKey.objects.exists()


@pytest.mark.django_db
def test_seed_demo_needs_no_force_in_development(settings, capsys):
    settings.DEBUG = True
    call_command("seed_demo")
    assert ApiKey.objects.exists()


@pytest.mark.django_db
def test_seed_demo_lets_a_notify_client_send_at_once(capsys, api_client):
    """Issue 19 point 7: a Notify key and an approved SMS and email template in Notify's
    syntax, each with ((name)), version 1."""
    from tests.hub.notify.conftest import NotifyTestClient

    call_command("seed_demo", force=True)
    out = capsys.readouterr().out
    notify_key = out.split("Demo GOV.UK Notify API key (for /v2/): ")[1].splitlines()[0].strip()
    client = NotifyTestClient(api_client, notify_key)
    for key, channel, address in (
        ("notify.welcome.sms", "sms", {"phone_number": "+447911123456"}),
        ("notify.welcome.email", "email", {"email_address": "ada@example.com"}),
    ):
        template = Template.objects.get(key=key)
        assert f"Notify template {key}: {template.uuid}" in out
        assert template.live_version is not None and template.live_version.number == 1
        body = {**address, "template_id": str(template.uuid), "personalisation": {"name": "Ada"}}
        response = client.post(f"/v2/notifications/{channel}", body)
        assert response.status_code == 201, response.content
        assert "Hello Ada" in response.json()["content"]["body"]
