"""What one POST /api/v1/notifications costs in database statements (issue 16 point 6): the
key and the live template come from the per-process caches (hub.generations) once warm, and
the answer is built from what the accept wrote, without reading it back. A few rows are
written with one plain INSERT per table (``audit.rows.rows_insert``), a large batch streams
them with one COPY per table: each is one statement here."""

from __future__ import annotations

import pytest

from tests.factories import ORDER_DATA

URL = "/api/v1/notifications"
BODY = {"template": "order.shipped", "to": {"external_id": "cust-1"}, "channels": ["sms"], "data": ORDER_DATA}

# Was 14 counted before the intake (key, template, notification and message INSERTs, and one
# read of each answered message), then 9 counted plus 5 uncounted COPYs (two round trips each).
# Now every statement is counted: the contact, consent, suppressions, the transition's UPDATE,
# the audit sequence, one INSERT each for the notification, its messages, their accepted
# events, their pending "accepted" count, their decided events and the audit records, and the
# savepoint pair the test's own transaction adds (an inline address needs neither the contact
# nor consent: two fewer). The rules come from the per-process cache (hub.generations), no
# longer checked by a query on each accept. The reports' "accepted" counts (issue 18 point 5)
# cost three statements inside the accept (the messages' rollup keys, an upsert each into the
# daily and the locale/provider rollups, on rows every accept of the template waits on) until
# the intake wrote them as one INSERT of its own, folded in later (``rollups_fold_accepted``):
# two fewer. The callbacks effect's read of the keys with an endpoint comes from the
# per-process cache (hub.generations) while no key has one: one fewer. The lifecycle writes
# the messages already in their decided status (``messages_transition(new=...)``), their
# "accepted" and decided events in one INSERT: no UPDATE, one events INSERT fewer (two fewer).
# On PostgreSQL a single accept's INSERTs (the notification, its messages, their events, the
# pending count, the audit records, numbered and hashed in their INSERT) go as one statement
# (``audit.rows.rows_batched``), after the reads: 11 -> 6 to a contact (contact, consent,
# suppressions, the INSERT, the savepoint pair), 9 -> 4 inline. A batch's tables stream with
# COPY, a statement each (its pending counts, a few rows, one INSERT before them); its audit
# records, more than a multi-row INSERT's, are numbered in one statement and hashed in Python
# (hashing them in PostgreSQL cost the database more than the round trip saved): 9.
WARM_ACCEPT_QUERIES = 6
INLINE_ACCEPT_QUERIES = 4
BATCH_QUERIES = 9


# Marked redis: the caches' generations live in Redis (REDIS_URL); without it nothing is cached.
@pytest.mark.redis
@pytest.mark.django_db
def test_one_warm_accept_costs_a_fixed_few_queries(
    authed_client, live_template, contact, django_assert_max_num_queries
):
    assert authed_client.post(URL, BODY, format="json").status_code == 202  # caches filled
    with django_assert_max_num_queries(WARM_ACCEPT_QUERIES):
        response = authed_client.post(URL, BODY, format="json")
    assert response.status_code == 202
    assert [e["status"] for e in response.json()["messages"][0]["events"]] == ["accepted", "queued"]


@pytest.mark.redis
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


@pytest.mark.redis
@pytest.mark.django_db
def test_an_inline_address_costs_fewer(authed_client, live_template, django_assert_num_queries):
    inline = {**BODY, "to": {"phone": "+447911123456"}}
    assert authed_client.post(URL, inline, format="json").status_code == 202
    with django_assert_num_queries(INLINE_ACCEPT_QUERIES):
        response = authed_client.post(URL, inline, format="json")
    assert response.status_code == 202


@pytest.mark.redis
@pytest.mark.django_db
def test_a_batch_costs_what_one_accept_costs(authed_client, live_template, django_assert_num_queries):
    """A batch of 200 is written with one COPY per table, in the same statements as one
    accept: nothing is done per item."""
    items = [{**BODY, "to": {"phone": f"+4479111{i:05d}"}} for i in range(200)]
    assert authed_client.post(f"{URL}/batch", {"notifications": items[:1]}, format="json").status_code == 207
    with django_assert_num_queries(BATCH_QUERIES):  # its INSERTs are COPYs
        response = authed_client.post(f"{URL}/batch", {"notifications": items}, format="json")
    assert response.json()["accepted"] == 200
