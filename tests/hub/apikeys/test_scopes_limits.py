"""API keys: scopes, test keys, per-key rate limit and daily quota."""

from __future__ import annotations

import re
import time

import pytest
from django.core.management import CommandError, call_command

from bench.fakes.twilio import sent_messages
from hub.apikeys.models import ApiKey
from hub.apikeys.services import InvalidScope, apikey_create, apikey_revoke
from hub.messaging.models import Notification
from templates_app.models import Category
from tests.factories import ORDER_DATA, key_client, make_live_template

URL = "/api/v1/notifications"
BODY = {"template": "order.shipped", "to": {"external_id": "cust-1"}, "channels": ["sms"], "data": ORDER_DATA}


@pytest.mark.django_db
class TestScopes:
    def test_read_only_key_cannot_send_but_can_read(self, live_template, contact, authed_client):
        sent = authed_client.post(URL, BODY, format="json").json()
        reader = key_client(apikey_create(name="dashboard", scopes=["read"]))
        response = reader.post(URL, BODY, format="json")
        assert response.status_code == 403
        assert response.json()["code"] == "forbidden"
        assert Notification.objects.count() == 1
        # A read-only key sees only what it created itself.
        assert reader.get(f"{URL}/{sent['id']}").status_code == 404

    def test_category_scope_limits_templates(self, live_template, contact):
        make_live_template("promo.spring", category=Category.MARKETING)
        client = key_client(apikey_create(name="cards", scopes=["send", "category:transactional"]))
        assert client.post(URL, BODY, format="json").status_code == 202
        response = client.post(URL, {**BODY, "template": "promo.spring"}, format="json")
        assert response.status_code == 403
        body = response.json()
        assert body["code"] == "template_not_allowed" and body["errors"][0]["field"] == "template"

    def test_template_scope_allows_that_template_only(self, live_template, contact):
        make_live_template("order.delayed")
        client = key_client(apikey_create(name="orders", scopes=["template:order.delayed"]))
        assert client.post(URL, BODY, format="json").status_code == 403
        assert client.post(URL, {**BODY, "template": "order.delayed"}, format="json").status_code == 202

    def test_contacts_write_scope_is_required_for_contact_writes(self, db):
        """Writes under /contacts need contacts:write (tests/hub/api/test_contacts.py has
        every contacts scope)."""
        client = key_client(apikey_create(name="sender", scopes=["send"]))
        response = client.put("/api/v1/contacts/cust-9", {"email": "a@example.com"}, format="json")
        assert response.status_code == 403
        assert "'contacts:write'" in response.json()["detail"]

    def test_createapikey_accepts_the_contacts_scopes(self, db, capsys):
        scopes = ["contacts:read", "contacts:write", "contacts:erase"]
        call_command("createapikey", "crm", *[a for s in scopes for a in ("--scope", s)])
        assert ApiKey.objects.get(name="crm").scopes == scopes

    @pytest.mark.parametrize("scope", ["contacts:delete", "contacts", "contacts:*", "admin"])
    def test_createapikey_refuses_an_unknown_scope(self, db, scope):
        with pytest.raises(CommandError, match=f"Unknown scope '{re.escape(scope)}'.*contacts:erase"):
            call_command("createapikey", "x", "--scope", "send", "--scope", scope)
        assert not ApiKey.objects.exists()

    def test_unknown_scope_is_refused(self, db):
        with pytest.raises(InvalidScope):
            apikey_create(name="x", scopes=["admin"])
        with pytest.raises(CommandError, match="Unknown scope"):
            call_command("createapikey", "x", "--scope", "category:")
        assert not ApiKey.objects.exists()

    @pytest.mark.parametrize("stored", [{}, "", 0, {"send": True}, [1, "send"]])
    def test_scopes_that_are_not_a_list_of_strings_grant_nothing(self, contact, stored):
        """Only an empty list means 'everything'. A value an operator typed into the admin's
        JSON field that is not a list of strings (``{}``, ``""``, ``0``...) must never open
        every contact, nor crash the request."""
        issued = apikey_create(name="typo", scopes=["send"])
        ApiKey.objects.filter(pk=issued.api_key.pk).update(scopes=stored)
        client = key_client(issued)
        for method, path in (("get", "/api/v1/contacts/cust-1"), ("delete", "/api/v1/contacts/cust-1")):
            assert getattr(client, method)(path).status_code == 403, (method, stored)
        response = client.post(URL, BODY, format="json")
        assert response.status_code == 403, response.content
        assert Notification.objects.count() == 0

    def test_revocation_is_immediate(self, live_template, contact, issued_key, authed_client):
        assert authed_client.post(URL, BODY, format="json").status_code == 202
        from audit.services import Actor

        apikey_revoke(api_key=issued_key.api_key, actor=Actor.system())
        assert authed_client.post(URL, BODY, format="json").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_test_key_always_uses_the_sandbox(live_template, contact, twilio_sms):
    """With Twilio configured, a live key's SMS reaches Twilio; a test key's goes to the sandbox."""
    from hub.providers.models import SandboxOutboxEntry

    live = key_client(apikey_create(name="live"))
    test = key_client(apikey_create(name="test", is_test=True))
    assert live.post(URL, BODY, format="json").status_code == 202
    response = test.post(URL, BODY, format="json")
    assert response.status_code == 202
    message_id = response.json()["messages"][0]["id"]
    assert len(sent_messages(twilio_sms)) == 1
    assert SandboxOutboxEntry.objects.filter(message_id=message_id).exists()
    detail = test.get(f"/api/v1/messages/{message_id}").json()
    assert detail["provider"] == "sandbox-sms" and detail["status"] == "delivered"


@pytest.mark.django_db
class TestRateLimitAndQuota:
    def test_the_default_rate_is_3000_a_minute(self, db, capsys):
        """SPEC §4 (GOV.UK Notify's default), for keys made in code and by the command."""
        assert apikey_create(name="a").api_key.rate_limit_per_minute == 3000
        call_command("createapikey", "b")
        assert ApiKey.objects.get(name="b").rate_limit_per_minute == 3000

    def test_a_client_that_honours_retry_after_never_fails(self, live_template, contact, figure):
        """A client sends as fast as it can on a small limit and, when refused, sleeps
        Retry-After and sends the same request again: every request is accepted in the end,
        none is lost or made twice, and one wait is always enough."""
        issued = apikey_create(name="polite", rate_limit_per_minute=120)
        ApiKey.objects.filter(pk=issued.api_key.pk).update(rate_limit_burst=2)
        client = key_client(issued)
        refusals = []
        for n in range(8):
            tries = 0
            while (
                response := client.post(URL, {**BODY, "reference": f"r{n}"}, format="json")
            ).status_code == 429:
                tries += 1
                time.sleep(int(response["Retry-After"]))
            assert response.status_code == 202, response.content
            refusals.append(tries)
        figure("requests refused once before acceptance", sum(refusals))
        assert sum(refusals) > 0  # the client did hit the limit
        assert max(refusals) == 1
        assert sorted(Notification.objects.values_list("reference", flat=True)) == [f"r{n}" for n in range(8)]

    def test_token_bucket_answers_429_with_retry_after(self, live_template, contact):
        issued = apikey_create(name="slow", rate_limit_per_minute=6)
        ApiKey.objects.filter(pk=issued.api_key.pk).update(rate_limit_burst=3)
        client = key_client(issued)
        answers = [client.get(f"{URL}/00000000-0000-0000-0000-000000000000").status_code for _ in range(3)]
        assert answers == [404, 404, 404]
        limited = client.post(URL, BODY, format="json")
        assert limited.status_code == 429
        assert limited["Content-Type"] == "application/problem+json"
        assert limited.json()["code"] == "rate_limited"
        assert 1 <= int(limited["Retry-After"]) <= 10
        assert Notification.objects.count() == 0

    def test_buckets_are_per_key(self, live_template, contact):
        a = apikey_create(name="a")
        ApiKey.objects.filter(pk=a.api_key.pk).update(rate_limit_burst=1, rate_limit_per_minute=1)
        b = key_client(apikey_create(name="b"))
        client_a = key_client(a)
        assert client_a.post(URL, BODY, format="json").status_code == 202
        assert client_a.post(URL, BODY, format="json").status_code == 429
        assert b.post(URL, BODY, format="json").status_code == 202

    def test_daily_quota(self, live_template, contact):
        client = key_client(apikey_create(name="quota", daily_quota=2))
        assert client.post(URL, BODY, format="json").status_code == 202
        # A refused request does not use the quota.
        assert client.post(URL, {**BODY, "template": "nope"}, format="json").status_code == 422
        assert client.post(URL, BODY, format="json").status_code == 202
        over = client.post(URL, BODY, format="json")
        assert over.status_code == 429
        assert over.json()["code"] == "quota_exceeded"
        assert int(over["Retry-After"]) <= 86400
        assert Notification.objects.count() == 2


@pytest.mark.django_db(transaction=True)  # sends are enqueued on commit
class TestAbuse:
    """Reliability suite, item 12: a burst far over a key's rate is refused, and the provider
    sees no more calls than the key was allowed to make."""

    def test_a_burst_at_ten_times_the_rate_is_refused_and_provider_calls_stay_within_it(
        self, live_template, contact, twilio_sms, figure
    ):
        issued = apikey_create(name="bursty", rate_limit_per_minute=60)
        ApiKey.objects.filter(pk=issued.api_key.pk).update(rate_limit_burst=10)
        client = key_client(issued)
        started = time.monotonic()
        codes = [client.post(URL, BODY, format="json").status_code for _ in range(100)]
        elapsed = time.monotonic() - started
        accepted, limited = codes.count(202), codes.count(429)
        # The bucket holds 10 and refills one a second while the burst runs.
        allowed = 10 + int(elapsed) + 1
        for name, value in [
            ("requests", len(codes)),
            ("accepted", accepted),
            ("refused 429", limited),
            ("allowed by the bucket", allowed),
            ("provider calls", len(sent_messages(twilio_sms))),
        ]:
            figure(name, value)
        assert accepted + limited == len(codes)
        assert 10 <= accepted <= allowed
        assert Notification.objects.count() == accepted
        assert len(sent_messages(twilio_sms)) == accepted

    def test_a_burst_over_the_daily_quota_makes_no_provider_call_beyond_it(
        self, live_template, contact, twilio_sms, figure
    ):
        issued = apikey_create(name="quota", daily_quota=5)
        ApiKey.objects.filter(pk=issued.api_key.pk).update(rate_limit_burst=1000)
        client = key_client(issued)
        codes = [client.post(URL, BODY, format="json").status_code for _ in range(50)]
        figure("requests", len(codes))
        figure("accepted", codes.count(202))
        figure("provider calls", len(sent_messages(twilio_sms)))
        assert codes == [202] * 5 + [429] * 45
        assert len(sent_messages(twilio_sms)) == 5
