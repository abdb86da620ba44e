"""No mass assignment through the API (issue 9, item 11).

Every API operation that is not a GET is listed in ``WRITES``: either it reads a body, and then
a field the caller may not set (``status``, timestamps, provider fields, ids, the key, ...) is
refused with a 400 problem+json naming it, at the top level and inside every nested object, as
the API already does for any unknown field (``StrictSerializer``); or it reads no body, and then
whatever is posted is ignored. Either way none of the planted values is ever stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from hub.broadcasts.models import Broadcast
from hub.messaging.models import Message
from tests.factories import ORDER_DATA
from tests.figures import Record
from tests.hub.security.api import CALLBACK_A, PROBLEM, api_operations, call, db_snapshot, url

PLANTED_TIME = "2001-02-03T04:05:06Z"
PLANTED_NUMBER = 987654
# Fields a caller must never set, with values that cannot arise by themselves.
PLANTED: dict[str, Any] = {
    "id": "00000000-0000-0000-0000-0000000000ee",
    "status": "delivered",
    "sent_at": PLANTED_TIME,
    "delivered_at": PLANTED_TIME,
    "created_at": PLANTED_TIME,
    "updated_at": PLANTED_TIME,
    "cancelled_at": PLANTED_TIME,
    "status_changed_at": PLANTED_TIME,
    "started_at": PLANTED_TIME,
    "provider": "planted-provider",
    "provider_message_id": "PLANTED-SM1",
    "cost": PLANTED_NUMBER,
    "attempts": PLANTED_NUMBER,
    "api_key": PLANTED_NUMBER,
    "api_key_id": PLANTED_NUMBER,
    "block_reason": "planted",
    "decision": {"outcome": "planted"},
    "secret": "planted-secret",
    "suspended_at": PLANTED_TIME,
    "consecutive_failures": PLANTED_NUMBER,
    "total": PLANTED_NUMBER,
    "released": PLANTED_NUMBER,
    "is_test": True,
    "scopes": ["planted"],
}
# Nested objects go through the same strict serializer base: a few fields are enough there.
PLANTED_NESTED = ("id", "status", "created_at", "provider", "api_key")

# Operations that read a body: a valid body, and the paths of every object in it that a field
# could be planted in ("" is the top level; list items by index, as the API names them in errors).
BODIES: dict[tuple[str, str], tuple[dict[str, Any], tuple[str, ...]]] = {
    ("notification-create", "POST"): (
        {"template": "order.shipped", "to": {"external_id": "cust-1"}, "data": ORDER_DATA},
        ("", "to"),
    ),
    ("notification-batch", "POST"): (
        {
            "notifications": [
                {"template": "order.shipped", "to": {"external_id": "cust-1"}, "data": ORDER_DATA}
            ]
        },
        ("", "notifications.0", "notifications.0.to"),
    ),
    # An event's top-level "id" is the caller's own event id (SPEC §4), not ours to plant.
    ("event-create", "POST"): (
        {"name": "security.waits", "contact": {"external_id": "cust-1"}, "data": {}, "id": "evt-1"},
        ("", "contact"),
    ),
    ("event-batch", "POST"): (
        {"events": [{"name": "security.waits", "contact": {"external_id": "cust-1"}, "id": "evt-2"}]},
        ("", "events.0", "events.0.contact"),
    ),
    ("broadcast-create", "POST"): (
        {
            "template": "order.shipped",
            "audience": {"recipients": [{"external_id": "cust-1"}]},
            "data": ORDER_DATA,
        },
        ("", "audience", "audience.recipients.0"),
    ),
    ("contact-bulk", "POST"): (
        {"contacts": [{"external_id": "cust-2", "devices": [{"kind": "fcm", "token": "t-2"}]}]},
        ("", "contacts.0", "contacts.0.devices.0"),
    ),
    ("contact-detail", "PUT"): (
        {"email": "ada@example.com", "devices": [{"kind": "fcm", "token": "t-1"}]},
        ("", "devices.0"),
    ),
    ("contact-consents", "POST"): (
        {"channel": "email", "purpose": "marketing", "granted": True, "evidence": {"wording_version": "v1"}},
        ("", "evidence"),
    ),
    ("contact-preferences", "PUT"): (
        {
            "preferences": [{"category": "marketing", "channel": "email", "granted": True}],
            "evidence": {"wording_version": "v1"},
        },
        ("", "preferences.0", "evidence"),
    ),
    ("callback-endpoint", "PUT"): ({"url": CALLBACK_A}, ("",)),
}
# Operations that read no body, in an order that works on the owner's objects, with the status
# each leaves (the posted "status" must not be it).
BODILESS: dict[tuple[str, str], tuple[type[Any] | None, str]] = {
    ("notification-cancel", "POST"): (Message, "cancelled"),
    ("journey-run-cancel", "POST"): (None, ""),
    ("broadcast-pause", "POST"): (Broadcast, "paused"),
    ("broadcast-resume", "POST"): (Broadcast, "scheduled"),
    ("broadcast-cancel", "POST"): (Broadcast, "cancelled"),
    ("callback-endpoint", "DELETE"): (None, ""),
    ("contact-detail", "DELETE"): (None, ""),
}


def test_every_write_is_covered() -> None:
    writes = {op for op in api_operations() if op[1] != "GET"}
    assert set(BODIES) | set(BODILESS) == writes
    assert not set(BODIES) & set(BODILESS)


def planted_values(value: Any) -> list[Any]:
    """Every planted value found anywhere in ``value`` (rows, JSON columns, response bodies)."""
    if isinstance(value, dict):
        return [v for item in value.items() for v in planted_values(item)]
    if isinstance(value, list | tuple):
        return [v for item in value for v in planted_values(item)]
    if isinstance(value, str) and ("planted" in value.lower() or value == PLANTED_TIME):
        return [value]
    if isinstance(value, datetime) and value.year == 2001:
        return [value]
    if isinstance(value, int) and not isinstance(value, bool) and value == PLANTED_NUMBER:
        return [value]
    return []


def _at(body: dict[str, Any], path: str) -> Any:
    target: Any = body
    for part in filter(None, path.split(".")):
        target = target[int(part)] if part.isdigit() else target[part]
    return target


def planted_into(body: dict[str, Any], path: str, field: str) -> dict[str, Any]:
    """A copy of ``body`` with ``field`` planted in the object at ``path``."""
    import copy

    body = copy.deepcopy(body)
    target: Any = body
    for part in filter(None, path.split(".")):
        target = target[int(part)] if part.isdigit() else target[part]
    target[field] = PLANTED[field]
    return body


@pytest.mark.django_db
def test_fields_a_caller_may_not_set_are_refused_by_name(
    owner_objects: dict[str, Any], figure: Record
) -> None:
    """400 invalid_request naming the field (``to.status``, ``contacts.0.id``...) for every
    planted field at every level of every body, nothing stored; then the same body without it
    is accepted (so the 400 was the planted field's)."""
    client = owner_objects["client"]
    args = owner_objects["args"]
    before = db_snapshot()
    wrong = []
    for (name, method), (body, paths) in BODIES.items():
        for path in paths:
            for field in PLANTED if not path else PLANTED_NESTED:
                if field in _at(body, path):
                    continue  # a field the caller sets (an event's own "id"): the valid body has it
                named = f"{path}.{field}" if path else field
                response = call(client, method, url(name, args), planted_into(body, path, field))
                fields = [e["field"] for e in response.json().get("errors", [])]
                answer = (response.status_code, response["Content-Type"], response.json().get("code"))
                if answer != (400, PROBLEM, "invalid_request") or fields != [named]:
                    wrong.append((name, method, named, answer, fields))
    tried = sum(
        len([f for f in (PLANTED if not path else PLANTED_NESTED) if f not in _at(body, path)])
        for body, paths in BODIES.values()
        for path in paths
    )
    figure("planted fields refused by name", tried - len(wrong))
    assert wrong == []
    assert db_snapshot() == before
    for (name, method), (body, _) in BODIES.items():
        response = call(client, method, url(name, args), body)
        assert response.status_code in (200, 201, 202, 207), (name, response.json())
    assert planted_values(db_snapshot()) == []


@pytest.mark.django_db
def test_operations_without_a_body_ignore_what_is_posted(owner_objects: dict[str, Any]) -> None:
    """Cancel, pause, resume and the deletes, posted every planted field at once: each does
    exactly its job, and no planted value reaches a row or the answer."""
    client = owner_objects["client"]
    args = owner_objects["args"]
    for (name, method), (model, status) in BODILESS.items():
        response = call(client, method, url(name, args), PLANTED)
        assert response.status_code in (200, 204), (name, method, response.content)
        assert planted_values(response.json() if response.content else {}) == [], name
        if model is Message:
            assert set(Message.objects.values_list("status", flat=True)) == {status}
        elif model is Broadcast:
            assert Broadcast.objects.get(id=args["broadcast_id"]).status == status
    assert planted_values(db_snapshot()) == []
