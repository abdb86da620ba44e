"""Key A and its objects, which the other keys of these tests try to reach."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tests.factories import ORDER_DATA, key_client, make_contacts
from tests.hub.journeys.conftest import definition, live_journey
from tests.hub.security.api import CALLBACK_A, make_key


@pytest.fixture
def owner_objects(live_template: Any) -> dict[str, Any]:
    """Key A's objects, each in a state where every operation on it would succeed for A: a
    deferred notification (cancellable), a scheduled broadcast (pausable, cancellable), a
    callback endpoint."""
    make_contacts(1)
    owner = make_key("owner-a")
    client = key_client(owner)
    later = (timezone.now() + timedelta(days=1)).isoformat()
    notification = client.post(
        "/api/v1/notifications",
        {"template": "order.shipped", "to": {"external_id": "cust-1"}, "data": ORDER_DATA, "send_at": later},
        format="json",
    ).json()
    broadcast = client.post(
        "/api/v1/broadcasts",
        {
            "template": "order.shipped",
            "audience": {"external_ids": ["cust-1"]},
            "data": ORDER_DATA,
            "send_at": later,
        },
        format="json",
    ).json()
    assert broadcast["status"] == "scheduled", broadcast
    assert client.put("/api/v1/callback", {"url": CALLBACK_A}, format="json").status_code == 200
    # A journey run the key's event started, waiting (so that it can be cancelled).
    live_journey(
        definition(
            key="security_wait",
            trigger={"event": "security.waits"},
            steps=[{"id": "pause", "type": "wait", "duration": "1h"}],
        )
    )
    event = client.post(
        "/api/v1/events", {"name": "security.waits", "contact": {"external_id": "cust-1"}}, format="json"
    ).json()
    return {
        "key": owner,
        "client": client,
        "args": {
            "notification_id": notification["id"],
            "message_id": notification["messages"][0]["id"],
            "broadcast_id": broadcast["id"],
            "external_id": "cust-1",
            "run_id": event["runs"][0]["run"],
            "key": "order.shipped",  # the live template it sends (reports name it)
        },
    }
