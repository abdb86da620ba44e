"""The API's JSON parser: bodies PostgreSQL or Python cannot hold are a 422 problem (the schema
allows them; their meaning is refused), never a 500
(deep nesting overflowed Python's recursion; a NUL or a lone surrogate failed in the database)."""

from __future__ import annotations

from typing import Any

import pytest

from hub.apikeys.services import apikey_create
from hub.contacts.models import Contact
from hub.journeys.models import Event
from tests.factories import key_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def events_client(contact: Contact) -> Any:
    return key_client(apikey_create(name="shop", scopes=["events"]))


def post(client: Any, data: str) -> Any:
    body = '{"name":"cart.abandoned","contact":{"external_id":"cust-1"},"data":{"x":' + data + "}}"
    return client.generic("POST", "/api/v1/events", body, content_type="application/json")


@pytest.mark.parametrize(
    "data",
    [
        "[" * 100_000 + "]" * 100_000,
        '"nul \\u0000 here"',
        '{"key\\u0000": 1}',
        '"lone \\ud800 high"',
        '"lone \\uDC00 low"',
        '"high at the end \\ud83d"',
        '"\\\\\\u0000"',  # an escaped backslash, then a NUL
    ],
)
def test_bodies_the_database_cannot_hold_are_a_422_problem(events_client, data):
    response = post(events_client, data)
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "unstorable_json"
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        '"an emoji \\ud83d\\ude00 pair"',
        '"a written \\\\u0000 is text"',
        '"\\\\\\\\u0000"',
        "[" * 500 + "]" * 500,
    ],
)
def test_what_it_can_hold_is_taken(events_client, data):
    assert post(events_client, data).status_code == 202
