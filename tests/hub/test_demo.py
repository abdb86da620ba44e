"""seed_demo gives a newcomer everything needed to send a first message."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from hub.apikeys.models import ApiKey
from hub.apikeys.services import apikey_authenticate
from hub.contacts.models import Contact
from templates_app.models import Template
from templates_app.rendering import version_channels


@pytest.mark.django_db
def test_seed_demo_is_complete_and_idempotent(capsys):
    call_command("seed_demo")
    first_key = capsys.readouterr().out.split("Demo API key: ")[1].strip()
    call_command("seed_demo")
    second_key = capsys.readouterr().out.split("Demo API key: ")[1].strip()

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
