"""Journey reports (issue 17 point 8): per version, runs entered, active, completed, exited by
event and converted; per step, runs reached and what its messages did; shown in admin with a
funnel chart."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.services import Actor
from hub.journeys.models import JourneyRunMessage, JourneyVersion
from hub.journeys.reports import journey_report
from hub.messaging.feedback import Outcome, outcomes_apply
from hub.messaging.lifecycle import Change, messages_transition
from tests.hub.journeys.conftest import definition, live_journey, send_event

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("shipped")]
DATA = {"first_name": "Ada", "order_number": "A-1"}
CART = definition(
    key="cart_report",
    name="Cart report",
    trigger={"event": "cart.abandoned"},
    exit_events=[{"event": "order.completed"}],
    goal={"event": "order.completed", "within": "7d"},
    steps=[
        {"id": "remind", "type": "send", "template": "order.shipped", "channels": ["sms"]},
        {"id": "pause", "type": "wait", "duration": "1h"},
        {"id": "again", "type": "send", "template": "order.shipped", "channels": ["sms"]},
    ],
)


@pytest.fixture
def history(contact):
    live_journey(CART)
    send_event("cart.abandoned", data=DATA)
    (link,) = JourneyRunMessage.objects.all()
    for status, fields in (("sending", {}), ("sent", {"provider": "sandbox-sms"}), ("delivered", {})):
        messages_transition([Change(link.message_id, status, fields)], actor=Actor.system(), source="test")
    outcomes_apply(
        [Outcome(message_id=link.message_id, engagement="clicked")], actor=Actor.system(), source="test"
    )
    send_event("order.completed")
    return JourneyVersion.objects.get(journey__key="cart_report")


def test_runs_and_steps_are_counted(history):
    report = journey_report(version=history)
    assert (report.entered, report.active, report.exited, report.converted) == (1, 0, 1, 1)
    assert report.exits == [("order.completed", 1)]
    steps = {s.step: s for s in report.steps}
    assert (steps["remind"].reached, steps["pause"].reached, steps["again"].reached) == (1, 1, 0)
    assert steps["remind"].counts == {
        "sent": 1, "delivered": 1, "opened": 0, "clicked": 1, "blocked": 0, "deferred": 0
    }  # fmt: skip
    assert report.funnel[0] == ("Entered", 1) and report.funnel[-1] == ("Converted", 1)


def test_the_admin_page_shows_the_report_and_a_funnel(client, staff_factory, history):
    client.force_login(staff_factory("Marketer"))
    response = client.get(reverse("admin:workspace_report_journeys"), {"version": history.pk})
    page = response.content.decode()
    assert response.status_code == 200 and response.context["report"].converted == 1
    assert 'role="img"' in page and "Runs of cart_report v1" in page and "order.completed" in page


def test_an_unknown_version_is_a_form_error(client, staff_factory, history):
    client.force_login(staff_factory("Marketer"))
    response = client.get(reverse("admin:workspace_report_journeys"), {"version": "999999"})
    assert (
        response.status_code == 400 and "Choose a journey version from the list." in response.content.decode()
    )


def test_support_may_not_open_it(client, staff_factory, db):
    client.force_login(staff_factory("Support"))
    assert client.get(reverse("admin:workspace_report_journeys")).status_code == 403
