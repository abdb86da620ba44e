"""GET /metrics: Prometheus text with messages by status, channel and provider, queue depth,
provider latency and error rate, and decision counts by reason."""

from __future__ import annotations

import pytest

from tests.factories import make_message
from tests.metrics import TOKEN, samples


@pytest.fixture
def client(scraper):
    return scraper


def test_metrics_from_the_database(client, contact, live_template):
    make_message(template=live_template, contact=contact, outcome="delivered")
    make_message(
        template=live_template,
        contact=contact,
        outcome="failed",
        fields={"failed": {"provider": "sandbox-sms", "error_code": "21211"}},
    )
    make_message(template=live_template, contact=contact, outcome="queued")
    make_message(
        template=live_template,
        contact=contact,
        outcome="blocked",
        fields={"blocked": {"block_reason": "suppressed"}},
    )
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    got = samples(response)
    assert (
        got[("switchboard_messages_in_flight", (("channel", "sms"), ("provider", ""), ("status", "queued")))]
        == 1
    )
    assert got[("switchboard_messages_total", (("channel", "sms"), ("status", "sent")))] == 1
    assert got[("switchboard_messages_total", (("channel", "sms"), ("status", "failed")))] == 1
    assert got[("switchboard_decisions_total", (("outcome", "blocked"), ("reason", "suppressed")))] == 1
    assert (
        got[("switchboard_provider_outcomes_5m", (("provider", "sandbox-sms"), ("status", "delivered")))] == 1
    )
    assert got[("switchboard_provider_error_ratio_5m", (("provider", "sandbox-sms"),))] == pytest.approx(0.5)
    assert ("switchboard_provider_latency_seconds", (("provider", "sandbox-sms"), ("quantile", "0.5"))) in got
    assert ("switchboard_broker_up", ()) in got


def test_queue_depth_is_read_from_the_broker(client, db):
    got = samples(client.get("/metrics"))
    if got[("switchboard_broker_up", ())] == 1:
        assert ("switchboard_queue_depth", (("queue", "send.sms.transactional"),)) in got


def test_a_configured_token_is_required(client, db):
    assert client.get("/metrics", HTTP_AUTHORIZATION="").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


def test_with_debug_off_and_no_token_nothing_is_served(client, settings, db):
    """Issue 14 point 9: an unset token does not mean an open endpoint in production."""
    settings.HUB_METRICS_TOKEN = ""
    for authorization in ("", "Bearer ", f"Bearer {TOKEN}"):
        response = client.get("/metrics", HTTP_AUTHORIZATION=authorization)
        assert response.status_code == 403
        assert b"switchboard_" not in response.content


def test_with_debug_on_an_unset_token_leaves_it_open_for_development(client, settings, db):
    settings.HUB_METRICS_TOKEN = ""
    settings.DEBUG = True
    assert client.get("/metrics", HTTP_AUTHORIZATION="").status_code == 200
