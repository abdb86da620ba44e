"""A callback delivery's events read in admin as labelled rows, not the raw JSON body."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from hub.callbacks.models import CallbackDelivery, CallbackEndpoint
from tests.pages import raw_structures, visible_text


@pytest.mark.django_db
def test_a_delivery_reads_in_words(admin_client: Any, issued_key: Any) -> None:
    endpoint = CallbackEndpoint.objects.create(
        api_key=issued_key.api_key, url="https://hooks.example.com/in", secret="s" * 32
    )
    delivery = CallbackDelivery.objects.create(
        endpoint=endpoint,
        events=[{"type": "message.delivered", "message_id": "m-1", "status": "delivered"}],
        next_attempt_at=timezone.now(),
    )
    page = admin_client.get(
        reverse("admin:callbacks_callbackdelivery_change", args=[delivery.pk])
    ).content.decode()
    assert raw_structures(page) == [], visible_text(page)
    assert "message.delivered" in visible_text(page)
