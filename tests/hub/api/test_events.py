"""``POST /api/v1/events`` (and ``/events/batch``) and ``/api/v1/journey-runs``: scope ``events``,
problem+json for bad input (400 schema, 422 meaning), runs visible only to the key that started them."""

from __future__ import annotations

from typing import Any

import pytest

from hub.apikeys.services import apikey_create
from hub.contacts.models import Contact
from hub.journeys.models import Event, JourneyRun, RunStatus
from hub.messaging.models import Notification
from tests.factories import key_client, make_live_template
from tests.hub.journeys.conftest import definition, live_journey, wake_now

pytestmark = pytest.mark.django_db
DATA = {"first_name": "Ada", "order_number": "A-1"}
CART = definition(
    key="abandoned_cart",
    name="Abandoned cart",
    trigger={"event": "cart.abandoned"},
    reentry={"policy": "always"},
    exit_events=[{"event": "order.completed"}],
    steps=[
        {"id": "pause", "type": "wait", "duration": "1h"},
        {"id": "remind", "type": "send", "template": "order.shipped"},
    ],
)


@pytest.fixture
def events_client(contact: Contact) -> Any:
    make_live_template("order.shipped")
    live_journey(CART)
    return key_client(apikey_create(name="shop", scopes=["events"]))


def post_event(client: Any, **body: Any) -> Any:
    return client.post(
        "/api/v1/events",
        {"name": "cart.abandoned", "contact": {"external_id": "cust-1"}, **body},
        format="json",
    )


def test_an_event_starts_a_run_and_answers_with_it(events_client: Any) -> None:
    response = post_event(events_client, data=DATA, id="evt-1")
    assert response.status_code == 202, response.json()
    body = response.json()
    run = JourneyRun.objects.get()
    assert body["runs"] == [
        {
            "run": str(run.id),
            "journey": "abandoned_cart",
            "version": 1,
            "action": "started",
            "status": "waiting",
            "step": "pause",
        }
    ]
    assert (body["event_id"], body["contact"], body["replayed"]) == ("evt-1", "cust-1", False)
    again = post_event(events_client, data=DATA, id="evt-1")
    assert again.status_code == 202 and again.json()["replayed"] is True
    assert again.json()["runs"] == body["runs"]
    assert JourneyRun.objects.count() == 1


def test_a_key_without_the_events_scope_is_refused(events_client: Any) -> None:
    sender = key_client(apikey_create(name="sender", scopes=["send", "read"]))
    response = post_event(sender)
    assert response.status_code == 403
    assert response.json()["detail"] == "This API key may not do this: it lacks the 'events' scope."
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"colour": "red"}, "colour"),
        ({"name": 3}, "name"),
        ({"name": "has spaces"}, "name"),
        ({"data": [1, 2]}, "data"),
        ({"contact": {"external_id": "cust-1", "email": "x@example.com"}}, "contact.email"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
    ],
)
def test_a_malformed_event_is_a_400_problem_naming_the_field(
    events_client: Any, body: dict[str, Any], field: str
) -> None:
    response = post_event(events_client, **body)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert not Event.objects.exists()


def test_an_unknown_contact_or_a_reused_id_is_a_422_problem(events_client: Any) -> None:
    response = post_event(events_client, contact={"external_id": "nobody"})
    assert (response.status_code, response.json()["code"]) == (422, "unknown_contact")
    assert response.json()["errors"][0]["field"] == "contact.external_id"
    post_event(events_client, data=DATA, id="evt-1")
    response = post_event(events_client, name="order.completed", id="evt-1")
    assert (response.status_code, response.json()["code"]) == (422, "event_id_reused")


def test_a_batch_answers_each_event_on_its_own(events_client: Any) -> None:
    events = [
        {"name": "cart.abandoned", "contact": {"external_id": "cust-1"}, "data": DATA},
        {"name": "cart.abandoned", "contact": {"external_id": "nobody"}},
        {"name": "order.completed", "contact": {"external_id": "cust-1"}},
    ]
    response = events_client.post("/api/v1/events/batch", {"events": events}, format="json")
    assert response.status_code == 207
    results = response.json()["results"]
    assert [r["status"] for r in results] == [202, 422, 202]
    assert (
        results[1]["code"] == "unknown_contact" and results[1]["instance"] == "/api/v1/events/batch#/events/1"
    )
    assert [line["action"] for line in results[2]["runs"]] == ["exited"]
    assert JourneyRun.objects.get().status == RunStatus.EXITED


def test_a_batch_the_schema_refuses_anywhere_is_refused_whole(events_client: Any) -> None:
    """As the notifications batch: 400 naming the event and field, nothing recorded."""
    events = [
        {"name": "cart.abandoned", "contact": {"external_id": "cust-1"}, "data": DATA},
        {"name": "cart.abandoned", "contact": {"external_id": "cust-1"}, "colour": 1},
    ]
    response = events_client.post("/api/v1/events/batch", {"events": events}, format="json")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["events.1.colour"]
    assert not Event.objects.exists()


def test_a_run_lists_its_messages_with_their_status_now(events_client: Any) -> None:
    run_id = post_event(events_client, data=DATA).json()["runs"][0]["run"]
    run = JourneyRun.objects.get(pk=run_id)
    wake_now(run)
    message = Notification.objects.get().messages.get()
    body = events_client.get(f"/api/v1/journey-runs/{run_id}").json()
    assert body["messages"] == [
        {
            "step": "remind",
            "notification": str(message.notification_id),
            "message": str(message.id),
            "status": "queued",
        }
    ]
    assert body["status"] == "completed"


def test_a_batch_of_more_than_1000_is_refused_whole(events_client: Any) -> None:
    events = [{"name": "cart.abandoned", "contact": {"external_id": "cust-1"}}] * 1001
    response = events_client.post("/api/v1/events/batch", {"events": events}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "events"
    assert not Event.objects.exists()


def test_a_run_shows_its_timeline_to_its_key_only_and_can_be_cancelled(events_client: Any) -> None:
    run_id = post_event(events_client, data=DATA).json()["runs"][0]["run"]
    response = events_client.get(f"/api/v1/journey-runs/{run_id}")
    assert response.status_code == 200
    body = response.json()
    assert (body["journey"], body["version"], body["status"], body["step"]) == (
        "abandoned_cart",
        1,
        "waiting",
        "pause",
    )
    assert [e["kind"] for e in body["timeline"]] == ["started", "step_entered", "wait"]
    assert body["messages"] == []
    other = key_client(apikey_create(name="other", scopes=["events"]))
    assert other.get(f"/api/v1/journey-runs/{run_id}").status_code == 404
    assert other.post(f"/api/v1/journey-runs/{run_id}/cancel").status_code == 404
    cancelled = events_client.post(f"/api/v1/journey-runs/{run_id}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["timeline"][-1]["kind"] == "cancelled"
    again = events_client.post(f"/api/v1/journey-runs/{run_id}/cancel")
    assert (again.status_code, again.json()["code"]) == (409, "not_cancellable")


def test_an_answer_lists_only_the_runs_of_the_key_that_sent_the_event(events_client: Any) -> None:
    """Another key's event still ends this key's run (the order was completed, whoever says so),
    but its answer does not name that run: a run is visible to the key that started it."""
    mine = post_event(events_client).json()["runs"][0]["run"]
    other = key_client(apikey_create(name="other shop", scopes=["events"]))
    response = other.post(
        "/api/v1/events", {"name": "order.completed", "contact": {"external_id": "cust-1"}}, format="json"
    )
    assert response.status_code == 202 and response.json()["runs"] == []
    assert JourneyRun.objects.get(id=mine).status == RunStatus.EXITED
    again = post_event(events_client, name="order.completed")
    assert again.json()["runs"] == []  # ended already: nothing more to say
