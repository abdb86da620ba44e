"""Callback URLs cannot aim the hub at itself or the cloud metadata service (SSRF)."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.utils import timezone

from hub.callbacks.models import CallbackDelivery, CallbackEndpoint, DeliveryStatus
from hub.callbacks.safety import callback_url_problem
from hub.callbacks.services import callbacks_deliver
from hub.settings import HUB_CALLBACK_BLOCKED_NETWORKS as PRODUCTION_DEFAULT
from tests.fakes.callbacks import start_fake_receiver

production = override_settings(HUB_CALLBACK_BLOCKED_NETWORKS=PRODUCTION_DEFAULT)


@production
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:6379/",
        "http://localhost:8000/admin/",
        "http://[::1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "ftp://cards.example.com/hook",
        "http://user:secret@10.0.0.5/hook",
        "http://no-such-host.invalid/hook",
    ],
)
def test_refused_urls_name_the_reason(url):
    assert callback_url_problem(url)


@production
@pytest.mark.parametrize(
    "url", ["http://10.0.0.5:8080/hooks", "https://192.168.1.20/hooks", "http://[fd00::1]/h"]
)
def test_private_networks_of_the_company_are_allowed(url):
    assert callback_url_problem(url) is None


@production
def test_the_api_refuses_a_metadata_url_and_stores_nothing(authed_client):
    response = authed_client.put(
        "/api/v1/callback", {"url": "http://169.254.169.254/latest/meta-data/"}, format="json"
    )
    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/problem+json")
    assert "169.254.169.254" in str(response.json())
    assert not CallbackEndpoint.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_url_that_became_unsafe_is_not_posted_to(authed_client):
    receiver = start_fake_receiver()
    try:
        response = authed_client.put("/api/v1/callback", {"url": f"{receiver.base_url}/h"}, format="json")
        assert response.status_code == 200
        endpoint = CallbackEndpoint.objects.get()
        delivery = CallbackDelivery.objects.create(
            endpoint=endpoint, events={"events": []}, next_attempt_at=timezone.now()
        )
        with production:  # e.g. the name now resolves to this host
            assert callbacks_deliver(delivery_ids=[delivery.id]) == 0
        delivery.refresh_from_db()
        assert receiver.calls == []
        assert delivery.status == DeliveryStatus.PENDING and "refused" in delivery.last_error
    finally:
        receiver.stop()
