"""The demo's abandoned-cart journey (issue 17.9): seed_demo approves it, and the README's
curl (an event through the API with the demo key) runs it push → email → SMS."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from hub.demo import ABANDONED_CART
from hub.journeys.models import Journey, JourneyRun, RunStatus
from hub.messaging.models import Message
from tests.hub.journeys.conftest import wake_now

pytestmark = pytest.mark.django_db

CART = {"first_name": "Ada", "cart_url": "https://shop.example/cart/9"}


def demo_client(capsys: pytest.CaptureFixture[str]) -> APIClient:
    call_command("seed_demo", force=True)
    key = capsys.readouterr().out.split("Demo API key: ")[1].splitlines()[0].strip()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def channels_sent(run: JourneyRun) -> list[str]:
    ids = run.messages.values_list("message_id", flat=True)
    return list(Message.objects.filter(id__in=ids).order_by("created_at").values_list("channel", flat=True))


def test_seed_demo_approves_the_abandoned_cart_journey_and_its_curl_runs_it(capsys) -> None:
    client = demo_client(capsys)
    journey = Journey.objects.get(key="abandoned_cart")
    assert journey.live_version is not None and journey.live_version.definition == ABANDONED_CART
    version = journey.live_version
    assert (version.author and version.author.username) == "marketer"
    assert (version.reviewed_by and version.reviewed_by.username) == "compliance"
    response = client.post(
        "/api/v1/events",
        {"name": "cart.abandoned", "contact": {"external_id": "cust-1001"}, "data": CART},
        format="json",
    )
    assert response.status_code == 202, response.json()
    (line,) = response.json()["runs"]
    assert (line["journey"], line["action"], line["step"]) == ("abandoned_cart", "started", "wait_click")
    run = JourneyRun.objects.get(pk=line["run"])
    assert channels_sent(run) == ["push"]
    wake_now(run)  # the push was not clicked: email, then a pause
    assert (run.status, run.step, channels_sent(run)) == (RunStatus.WAITING, "pause", ["push", "email"])
    wake_now(run)
    assert (run.status, channels_sent(run)) == (RunStatus.COMPLETED, ["push", "email", "sms"])


def test_an_order_ends_the_demo_journey_and_converts_it(capsys) -> None:
    client = demo_client(capsys)
    body = {"name": "cart.abandoned", "contact": {"external_id": "cust-1001"}, "data": CART}
    run_id = client.post("/api/v1/events", body, format="json").json()["runs"][0]["run"]
    order = {"name": "order.completed", "contact": {"external_id": "cust-1001"}}
    actions = [line["action"] for line in client.post("/api/v1/events", order, format="json").json()["runs"]]
    assert actions == ["exited", "converted"]
    run = JourneyRun.objects.get(pk=run_id)
    assert run.status == RunStatus.EXITED and run.converted_at is not None
