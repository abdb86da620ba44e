"""The events API's plain validation (no serializer per event) takes what the serializer takes,
as it would, and leaves everything else to the serializer (whose errors the API answers)."""

from __future__ import annotations

from typing import Any

import pytest

from hub.api.events import EventCreateSerializer, plain_event, plain_events

VALID: list[dict[str, Any]] = [
    {"name": "cart.abandoned", "contact": {"external_id": "cust-1"}},
    {
        "name": "order:done_2-x",
        "contact": {"external_id": "Zoë 1"},
        "data": {"total": 12, "items": [1, {"a": None}]},
        "occurred_at": "2026-05-01T12:00:00+02:00",
        "id": "evt_01HX",
    },
    {"name": "a", "contact": {"external_id": "c"}, "occurred_at": "2026-05-01T12:00:00"},
    {"name": "n" * 100, "contact": {"external_id": "c" * 128}, "id": "i" * 200, "data": {}},
]
# Each refused by the serializer, or taken only after it trims or coerces: left to it.
OTHER: list[Any] = [
    [],
    "text",
    {"name": "cart.abandoned"},
    {"name": "cart.abandoned", "contact": {"external_id": "c"}, "colour": "red"},
    {"name": 3, "contact": {"external_id": "c"}},
    {"name": "has spaces", "contact": {"external_id": "c"}},
    {"name": "cart.abandoned\n", "contact": {"external_id": "c"}},
    {"name": "n" * 101, "contact": {"external_id": "c"}},
    {"name": "x", "contact": {"external_id": "c", "email": "x@example.com"}},
    {"name": "x", "contact": {"external_id": ""}},
    {"name": "x", "contact": {"external_id": " c "}},
    {"name": "x", "contact": {"external_id": "c" * 129}},
    {"name": "x", "contact": {"external_id": "c\x00"}},
    {"name": "x", "contact": {"external_id": 7}},
    {"name": "x", "contact": "c"},
    {"name": "x", "contact": {"external_id": "c"}, "data": [1, 2]},
    {"name": "x", "contact": {"external_id": "c"}, "data": None},
    {"name": "x", "contact": {"external_id": "c"}, "occurred_at": "yesterday"},
    {"name": "x", "contact": {"external_id": "c"}, "occurred_at": 1714557600},
    {"name": "x", "contact": {"external_id": "c"}, "id": ""},
    {"name": "x", "contact": {"external_id": "c"}, "id": 12},
    {"name": "x", "contact": {"external_id": "c"}, "id": "i" * 201},
]


@pytest.mark.parametrize("body", VALID)
def test_a_plainly_valid_event_is_taken_as_the_serializer_takes_it(body: dict[str, Any]) -> None:
    serializer = EventCreateSerializer(data=body)
    assert serializer.is_valid(), serializer.errors
    assert plain_event(body) == serializer.to_event()


@pytest.mark.parametrize("body", OTHER)
def test_anything_else_is_left_to_the_serializer(body: Any) -> None:
    assert plain_event(body) is None


def test_a_batch_is_plain_only_if_every_event_is() -> None:
    assert plain_events({"events": VALID}) == [plain_event(body) for body in VALID]
    assert plain_events({"events": [*VALID, OTHER[4]]}) is None
    assert plain_events({"events": []}) is None
    assert plain_events({"events": VALID * 251}) is None  # over 1,000
    assert plain_events({"events": VALID, "colour": 1}) is None
