"""What one POST /api/v1/notifications costs in database statements (issue 16 point 6): the
key and the live template come from the per-process caches (hub.generations) once warm, and
the answer is built from what the accept wrote, without reading it back. (Rows streamed with
COPY, the notification, its messages, their events and the audit records, are not counted
by Django: one COPY per table.)"""

from __future__ import annotations

import pytest

from tests.factories import ORDER_DATA

URL = "/api/v1/notifications"
BODY = {"template": "order.shipped", "to": {"external_id": "cust-1"}, "channels": ["sms"], "data": ORDER_DATA}

# Was 14 before the intake (key, template, notification and message INSERTs, and one read of
# each answered message); now: the contact, the rules' version, consent, suppressions, the
# transition's UPDATE, the callbacks hook's read, the audit sequence, and the savepoint pair
# the test's own transaction adds.
WARM_ACCEPT_QUERIES = 9


@pytest.mark.django_db
def test_one_warm_accept_costs_a_fixed_few_queries(
    authed_client, live_template, contact, django_assert_max_num_queries
):
    assert authed_client.post(URL, BODY, format="json").status_code == 202  # caches filled
    with django_assert_max_num_queries(WARM_ACCEPT_QUERIES):
        response = authed_client.post(URL, BODY, format="json")
    assert response.status_code == 202
    assert [e["status"] for e in response.json()["messages"][0]["events"]] == ["accepted", "queued"]


@pytest.mark.django_db
def test_every_message_of_the_answer_comes_from_what_was_written(
    authed_client, live_template, contact, django_assert_max_num_queries
):
    """Two channels cost no more than one: nothing is read back per message."""
    assert authed_client.post(URL, BODY, format="json").status_code == 202
    both = {**BODY, "channels": ["sms", "email"], "routing": "all"}
    with django_assert_max_num_queries(WARM_ACCEPT_QUERIES):
        response = authed_client.post(URL, both, format="json")
    assert [m["channel"] for m in response.json()["messages"]] == ["sms", "email"]
