"""Issue 16: the callbacks effect reads whether any key has an endpoint from the per-process
cache (hub.generations), so a status change makes no callbacks query while none has; an
endpoint made in any process is seen by the very next status change."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.services import Actor
from hub.callbacks.models import CallbackDelivery, CallbackEndpoint
from hub.messaging.lifecycle import Change, messages_transition
from hub.messaging.models import Message
from tests.hub.test_generations import BODY, URL

pytestmark = [pytest.mark.django_db, pytest.mark.redis]  # the generation counters live in Redis


def queued_message(client) -> Message:
    answer = client.post(URL, BODY, format="json")
    assert answer.status_code == 202, answer.content
    return Message.objects.get(id=answer.json()["messages"][0]["id"])


def test_no_callbacks_query_while_no_key_has_an_endpoint(authed_client, live_template):
    queued_message(authed_client)  # the cache filled
    with CaptureQueriesContext(connection) as captured:
        queued_message(authed_client)
    assert not any("callbacks_callbackendpoint" in q["sql"] for q in captured.captured_queries)


def test_a_new_endpoint_is_seen_by_the_next_status_change(authed_client, issued_key, live_template):
    message = queued_message(authed_client)
    assert not CallbackDelivery.objects.exists()
    CallbackEndpoint.objects.create(api_key=issued_key.api_key, url="https://hooks.example/status")
    messages_transition([Change(message.id, "sending", {"attempts": 1})], actor=Actor.system(), source="test")
    (delivery,) = CallbackDelivery.objects.all()
    assert [e["status"] for e in delivery.events["events"]] == ["sending"]
