"""The operator dashboard (issue 18 point 5, issue 20 point 3): queue depths and queued lanes,
provider error rates and latency over a chosen window, stale workers, failing callbacks, and a
banner whenever a channel sends to the sandbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from hub.apikeys.services import apikey_create
from hub.callbacks.models import CallbackDelivery, CallbackEndpoint, DeliveryStatus
from hub.messaging.models import Message
from hub.workers.liveness import worker_consumed
from hub.workspace.operator import provider_health, sandbox_channels
from tests.factories import make_message
from tests.fake_servers import sendgrid_entry

pytestmark = pytest.mark.django_db
URL = reverse("admin:workspace_report_operator")


def page(client, staff_factory, **query):
    client.force_login(staff_factory("Operator"))
    return client.get(URL, query)


def test_the_sandbox_banner_shows_while_a_channel_sends_to_the_sandbox(client, staff_factory, settings):
    settings.HUB_PROVIDERS = {**settings.HUB_PROVIDERS, "email": [sendgrid_entry_stub()]}
    assert "email" not in sandbox_channels() and "sms" in sandbox_channels()
    response = page(client, staff_factory)
    banner = response.content.decode()
    assert response.status_code == 200 and 'id="sandbox-banner"' in banner
    assert "sms, push send to the sandbox" in banner


def sendgrid_entry_stub():
    class Server:  # only the address is read: nothing is sent in this test
        base_url = "http://127.0.0.1:9"

    return sendgrid_entry(Server())  # type: ignore[arg-type]


def test_no_banner_when_every_channel_has_a_real_provider(client, staff_factory, settings):
    real = sendgrid_entry_stub()
    settings.HUB_PROVIDERS = {
        "sms": [{**real, "NAME": "real-sms"}],
        "email": [real],
        "push": [{**real, "NAME": "p"}],
    }
    assert sandbox_channels() == []
    assert 'id="sandbox-banner"' not in page(client, staff_factory).content.decode()


def test_provider_error_rates_over_the_chosen_window(client, staff_factory, contact, live_template):
    make_message(template=live_template, contact=contact, outcome="delivered")
    failed = make_message(template=live_template, contact=contact, outcome="failed")
    Message.objects.filter(pk=failed.pk).update(provider="sandbox-sms")
    old = make_message(template=live_template, contact=contact, outcome="failed")
    Message.objects.filter(pk=old.pk).update(
        provider="sandbox-sms", status_changed_at=timezone.now() - timedelta(hours=3)
    )
    hour = {p.provider: p for p in provider_health(timedelta(hours=1))}["sandbox-sms"]
    assert (hour.finished, hour.failed, hour.error_rate) == (2, 1, 50.0)
    assert hour.p50 is not None  # sending → sent was timed
    day = {p.provider: p for p in provider_health(timedelta(hours=24))}["sandbox-sms"]
    assert (day.finished, day.failed) == (3, 2)
    response = page(client, staff_factory, window="24h")
    assert response.context["dashboard"].providers[0].error_rate == pytest.approx(66.7)
    assert "Providers, last 24h" in response.content.decode()


def test_a_window_not_offered_is_a_form_error(client, staff_factory):
    response = page(client, staff_factory, window="10y")
    assert response.status_code == 400 and "Choose one of the windows listed." in response.content.decode()


def test_stale_workers_and_queued_lanes(client, staff_factory, settings, contact, live_template):
    settings.HUB_WORKER_LIVENESS_SECONDS = 60
    worker_consumed(worker="w-fresh", queue="send")
    worker_consumed(worker="w-deaf", queue="send", at=timezone.now() - timedelta(minutes=10))
    make_message(template=live_template, contact=contact, outcome="queued")
    dashboard = page(client, staff_factory).context["dashboard"]
    states = {w.worker: w.stale for w in dashboard.workers}
    assert states == {"w-fresh": False, "w-deaf": True}
    assert ("sms", "transactional", 1) in dashboard.lanes


def test_failing_callbacks_are_listed(client, staff_factory):
    endpoint = CallbackEndpoint.objects.create(
        api_key=apikey_create(name="svc").api_key, url="https://svc.example/hook", consecutive_failures=4
    )
    CallbackDelivery.objects.create(
        endpoint=endpoint,
        events={"events": []},
        status=DeliveryStatus.PENDING,
        next_attempt_at=timezone.now(),
        last_error="HTTP 500",
    )
    CallbackEndpoint.objects.create(api_key=apikey_create(name="ok").api_key, url="https://ok.example/hook")
    (failing,) = page(client, staff_factory).context["dashboard"].failing_callbacks
    assert (failing.url, failing.consecutive_failures, failing.pending, failing.last_error) == (
        "https://svc.example/hook",
        4,
        1,
        "HTTP 500",
    )


@pytest.mark.parametrize("role", ["Marketer", "Compliance", "Support"])
def test_other_roles_may_not_open_it(client, staff_factory, role):
    client.force_login(staff_factory(role))
    assert client.get(URL).status_code == 403
