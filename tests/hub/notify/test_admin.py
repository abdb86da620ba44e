"""An operator creates a Notify-format key in admin: shown once, audited, usable at once."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from audit.models import AuditRecord
from hub.notify.models import KeyType, NotifyKey
from tests.factories import make_staff_user
from tests.hub.notify.conftest import signed

pytestmark = pytest.mark.django_db


def test_operator_creates_a_test_key_and_sees_it_once(client, api_client) -> None:
    client.force_login(make_staff_user("Operator"))
    response = client.post(
        reverse("admin:notify_notifykey_add"), {"name": "cards", "key_type": "test", "service_id": ""}
    )
    # Shown on the page that answers the form, never stored in a cookie or cached.
    assert response.status_code == 200, response.content
    shown = response.content.decode()
    raw = re.search(r"cards-[0-9a-f-]{36}-[0-9a-f-]{36}", shown)
    assert raw is not None, shown
    assert "no-store" in response["Cache-Control"]
    assert all(raw.group(0)[-36:] not in morsel.value for morsel in response.cookies.values())
    notify_key = NotifyKey.objects.get()
    assert notify_key.key_type == KeyType.TEST
    assert notify_key.api_key.is_test
    assert AuditRecord.objects.filter(action="apikey.notify_format").count() == 1
    assert api_client.get("/v2/templates", HTTP_AUTHORIZATION=signed(raw.group(0))).status_code == 200
    # The key is never shown again.
    page = client.get(reverse("admin:notify_notifykey_change", args=[notify_key.pk]))
    assert raw.group(0)[-36:] not in page.content.decode()


def test_support_may_not_create_keys(client) -> None:
    client.force_login(make_staff_user("Support"))
    response = client.post(reverse("admin:notify_notifykey_add"), {"name": "x", "key_type": "normal"})
    assert response.status_code == 403
    assert not NotifyKey.objects.exists()


def test_the_sidebar_names_sms_senders_in_the_plural() -> None:
    """The operator's sidebar read "SMS sender (Notify API)s" (seen on the screenshots)."""
    from hub.notify.models import SmsSender

    assert SmsSender._meta.verbose_name_plural == "SMS senders (Notify API)"
