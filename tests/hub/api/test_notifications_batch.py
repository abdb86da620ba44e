"""POST /api/v1/notifications/batch: per-item results in order, a refused item never stops
the others, the whole request idempotent, the single endpoint's scopes, quota and limits."""

from __future__ import annotations

import json

import pytest

from hub.apikeys.services import apikey_create
from hub.messaging.models import Message, Notification
from tests.factories import ORDER_DATA, key_client, make_contacts

URL = "/api/v1/notifications/batch"
PROBLEM = "application/problem+json"


def item(to, **extra):
    return {"template": "order.shipped", "to": to, "data": ORDER_DATA, "channels": ["sms"], **extra}


def post(client, items, **extra):
    return client.post(URL, {"notifications": items}, format="json", **extra)


@pytest.mark.django_db
class TestResults:
    def test_results_come_in_order_and_a_bad_item_stops_no_other(self, authed_client, live_template):
        make_contacts(2)
        items = [
            item({"external_id": "cust-1"}, reference="first"),
            item({"external_id": "cust-1"}, template="no.such"),
            item({"phone": "+15555550100"}),  # a valid E.164 shape, not a valid number: 422 for it alone
            item({"external_id": "nobody"}),
            {**item({"external_id": "cust-2"}), "data": {}},
            item({"phone": "+447911123456"}, reference="last"),
        ]
        response = post(authed_client, items)
        assert response.status_code == 207, response.content
        body = response.json()
        results = body["results"]
        assert len(results) == 6
        assert (body["accepted"], body["rejected"]) == (2, 4)
        assert results[0]["reference"] == "first" and results[5]["reference"] == "last"
        assert [m["status"] for m in results[0]["messages"]] == ["queued"]
        refused = {i: (r["status"], r["code"]) for i, r in enumerate(results) if "code" in r}
        assert refused == {
            1: (422, "unknown_template"),
            2: (422, "invalid_request"),
            3: (422, "unknown_contact"),
            4: (422, "invalid_data"),
        }
        assert results[2]["errors"][0]["field"] == "to.phone"
        assert results[3]["instance"] == f"{URL}#/notifications/3"
        assert set(Notification.objects.values_list("id", flat=True)) == {
            _id(results[0]),
            _id(results[5]),
        }
        assert Message.objects.count() == 2
        # Each result is what GET answers for that notification.
        detail = authed_client.get(f"/api/v1/notifications/{results[0]['id']}").json()
        assert detail["id"] == results[0]["id"] and detail["reference"] == "first"

    def test_a_schema_violation_anywhere_refuses_the_whole_request(self, authed_client, live_template):
        items = [item({"phone": "+447911123456"}), {**item({"phone": "+447911123456"}), "colour": "red"}]
        response = post(authed_client, items)
        assert response.status_code == 400
        assert response["Content-Type"] == PROBLEM
        assert [e["field"] for e in response.json()["errors"]] == ["notifications.1.colour"]
        assert not Notification.objects.exists()

    @pytest.mark.parametrize("body", [{"notifications": []}, {"notifications": {}}, {}, {"items": []}])
    def test_an_empty_or_malformed_envelope_is_400(self, authed_client, body):
        response = authed_client.post(URL, body, format="json")
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_request"

    def test_over_1000_items_is_refused_before_anything_is_made(self, authed_client, live_template):
        response = post(authed_client, [item({"phone": "+447911123456"})] * 1001)
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "notifications"
        assert "1000" in response.json()["errors"][0]["message"]
        assert not Notification.objects.exists()

    def test_a_body_over_the_size_limit_is_413(self, authed_client, settings):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
        body = json.dumps({"notifications": [item({"phone": "+447911123456"})] * 200})
        assert len(body) > 10_000
        response = authed_client.post(URL, data=body, content_type="application/json")
        assert response.status_code == 413
        assert response.json()["code"] == "payload_too_large"


def _id(result):
    from uuid import UUID

    return UUID(result["id"])


@pytest.mark.django_db
class TestIdempotency:
    def test_the_same_key_and_body_replays_the_whole_answer(self, authed_client, live_template):
        items = [item({"phone": "+447911123456"}), item({"external_id": "nobody"})]
        first = post(authed_client, items, HTTP_IDEMPOTENCY_KEY="batch-1")
        again = post(authed_client, items, HTTP_IDEMPOTENCY_KEY="batch-1")
        assert first.status_code == again.status_code == 207
        assert again.json() == first.json()
        assert again["Idempotent-Replayed"] == "true"
        assert Notification.objects.count() == 1
        other = post(authed_client, items[:1], HTTP_IDEMPOTENCY_KEY="batch-1")
        assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
        assert Notification.objects.count() == 1


@pytest.mark.django_db
class TestScopesAndQuota:
    def test_a_key_without_send_is_refused_whole(self, live_template):
        client = key_client(apikey_create(name="reader", scopes=["read"]))
        response = post(client, [item({"phone": "+447911123456"})])
        assert response.status_code == 403
        assert not Notification.objects.exists()

    def test_template_limits_refuse_the_items_they_do_not_allow(self, live_template, template_factory):
        template_factory("other.thing")
        client = key_client(apikey_create(name="limited", scopes=["send", "template:other.thing"]))
        allowed = {**item({"phone": "+447911123456"}), "template": "other.thing"}
        response = post(client, [item({"phone": "+447911123456"}), allowed])
        assert response.status_code == 207
        first, second = response.json()["results"]
        assert (first["status"], first["code"]) == (403, "template_not_allowed")
        assert second["template"] == "other.thing"
        assert Notification.objects.count() == 1

    def test_the_daily_quota_counts_accepted_items_only(self, live_template):
        client = key_client(apikey_create(name="quota", daily_quota=2))
        good = item({"phone": "+447911123456"})
        assert post(client, [good, good, good]).status_code == 429  # more than the quota: none
        assert not Notification.objects.exists()
        response = post(client, [good, item({"external_id": "nobody"})])
        assert response.json()["accepted"] == 1  # the refused item is given back
        assert post(client, [good]).status_code == 207
        refused = post(client, [good])
        assert refused.status_code == 429 and refused.json()["code"] == "quota_exceeded"
        assert Notification.objects.count() == 2
