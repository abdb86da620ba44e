"""Routing between providers: failover, health demotion and probing, admin configuration,
rate limits; and what dispatch does with each kind of provider answer."""

from __future__ import annotations

import pytest

from bench.fakes.server import FakeServer, Injection
from bench.fakes.twilio import UNSUBSCRIBED_NUMBER, TwilioHandler, sent_messages
from hub.contacts.models import ConsentEntry, Device, Suppression
from hub.messaging import dispatch
from hub.messaging.models import Message
from hub.messaging.models import MessageStatus as S
from hub.providers import health
from hub.providers.models import ProviderConfig
from hub.providers.ratelimit import rate_limit_reset, rate_limit_take
from hub.providers.registry import channel_providers, registry_reset
from tests.factories import ALL_CHANNEL_VARIANTS, make_device, make_live_template, make_queued_messages
from tests.fake_servers import fcm_entry, twilio_entry

pytestmark = pytest.mark.django_db

ALWAYS_500 = Injection(500, {"code": 20500, "message": "Internal Server Error", "status": 500}, times=None)


@pytest.fixture
def two_twilios(settings, fake_twilio):
    secondary = FakeServer(TwilioHandler).start()
    settings.HUB_PROVIDERS = {
        **settings.HUB_PROVIDERS,
        "sms": [twilio_entry(fake_twilio, "twilio-primary"), twilio_entry(secondary, "twilio-secondary")],
    }
    settings.HUB_PROVIDER_HEALTH_MIN_CALLS = 3
    yield fake_twilio, secondary
    secondary.stop()


class TestFailover:
    def test_primary_failing_every_call_still_gets_messages_out_through_the_second(
        self, live_template, two_twilios, figure, settings
    ):
        primary, secondary = two_twilios
        # No probe of the demoted primary falls due while the 100 go out: on a loaded CI machine
        # they took longer than the default 30 s, and a probe made the primary's calls 4.
        settings.HUB_PROVIDER_PROBE_SECONDS = 3600
        primary.inject(ALWAYS_500)
        messages = make_queued_messages(live_template, count=100)
        for message in messages:  # one task per message, as the API would enqueue them
            dispatch.messages_dispatch(message_ids=[message.id])
        rows = list(Message.objects.filter(id__in=[m.id for m in messages]).values_list("status", "provider"))
        through_secondary = rows.count((S.SENT, "twilio-secondary"))
        figure("messages", len(rows))
        figure("sent through the secondary", f"{through_secondary / len(rows):.0%}")
        figure("calls to the failing primary", len(primary.calls))
        assert through_secondary / len(rows) >= 0.99
        assert set(rows) == {(S.SENT, "twilio-secondary")}
        assert len(sent_messages(secondary)) == 100
        # After the threshold the primary is demoted and no longer tried first.
        assert health.provider_health("twilio-primary").demoted
        assert len(primary.calls) == 3
        timeline = Message.objects.get(id=messages[0].id).events.get(status=S.SENT).detail
        assert timeline["failed_over_from"] == ["twilio-primary"]

    def test_a_demoted_provider_is_probed_and_restored_when_healthy(
        self, live_template, two_twilios, settings
    ):
        _primary, _secondary = two_twilios
        settings.HUB_PROVIDER_PROBE_SECONDS = 0  # every send may probe
        health.provider_demote(provider="twilio-primary", reason="test")
        (message,) = make_queued_messages(live_template)
        dispatch.messages_dispatch(message_ids=[message.id])
        message.refresh_from_db()
        assert message.provider == "twilio-primary", "the probe went to the demoted provider"
        assert not health.provider_health("twilio-primary").demoted

    def test_a_failed_probe_still_delivers_through_the_healthy_provider(
        self, live_template, two_twilios, settings
    ):
        primary, _secondary = two_twilios
        settings.HUB_PROVIDER_PROBE_SECONDS = 0
        primary.inject(ALWAYS_500)
        health.provider_demote(provider="twilio-primary", reason="test")
        (message,) = make_queued_messages(live_template)
        dispatch.messages_dispatch(message_ids=[message.id])
        message.refresh_from_db()
        assert (message.status, message.provider) == (S.SENT, "twilio-secondary")
        assert health.provider_health("twilio-primary").demoted

    def test_every_provider_failing_requeues_with_backoff(self, live_template, two_twilios):
        for server in two_twilios:
            server.inject(ALWAYS_500)
        (message,) = make_queued_messages(live_template)
        dispatch.messages_dispatch(message_ids=[message.id])
        message.refresh_from_db()
        assert message.status == S.QUEUED and message.not_before is not None
        assert message.attempts == 1


class TestAdminConfiguration:
    def test_rows_replace_settings_and_order_by_priority(self, two_twilios):
        _primary, _secondary = two_twilios
        ProviderConfig.objects.create(
            name="twilio-primary",
            channel="sms",
            backend="hub.providers.twilio.TwilioSmsProvider",
            priority=20,
        )
        ProviderConfig.objects.create(
            name="twilio-secondary",
            channel="sms",
            backend="hub.providers.twilio.TwilioSmsProvider",
            priority=10,
        )
        registry_reset()
        names = [p.name for p in channel_providers("sms")]
        assert names == ["twilio-secondary", "twilio-primary"]
        # Secrets came from the settings entry of the same name, not from the row.
        assert channel_providers("sms")[0].options["auth_token"]

    def test_disabled_rows_carry_no_traffic(self, two_twilios):
        ProviderConfig.objects.create(
            name="twilio-primary",
            channel="sms",
            backend="hub.providers.twilio.TwilioSmsProvider",
            enabled=False,
        )
        ProviderConfig.objects.create(
            name="twilio-secondary", channel="sms", backend="hub.providers.twilio.TwilioSmsProvider"
        )
        registry_reset()
        assert [p.name for p in channel_providers("sms")] == ["twilio-secondary"]

    def test_secrets_are_refused_in_options(self):
        from django.core.exceptions import ValidationError

        row = ProviderConfig(
            name="t",
            channel="sms",
            backend="hub.providers.twilio.TwilioSmsProvider",
            options={"auth_token": "x"},
        )
        with pytest.raises(ValidationError, match="environment"):
            row.full_clean()

    def test_backend_must_carry_the_channel(self):
        from django.core.exceptions import ValidationError

        row = ProviderConfig(name="t", channel="email", backend="hub.providers.twilio.TwilioSmsProvider")
        with pytest.raises(ValidationError, match="carries sms"):
            row.full_clean()


class TestRateLimit:
    def test_token_bucket_grants_the_burst_then_asks_to_wait(self):
        key = "test-bucket"
        rate_limit_reset(key)
        waits = [rate_limit_take(key=key, rate=2, burst=2, max_wait=10) for _ in range(4)]
        assert waits[:2] == [0.0, 0.0]
        assert 0.3 < waits[2] <= 0.5 and 0.8 < waits[3] <= 1.0
        refused = rate_limit_take(key=key, rate=2, burst=2, max_wait=0.1)
        assert refused < 0, "a wait beyond max_wait reserves nothing"
        rate_limit_reset(key)

    def test_rate_limited_sends_wait_in_the_database_without_spending_a_try(
        self, live_template, settings, fake_twilio
    ):
        settings.HUB_PROVIDERS = {
            **settings.HUB_PROVIDERS,
            "sms": [twilio_entry(fake_twilio, "twilio-slow", rate_per_second=0.2, burst=1)],
        }
        rate_limit_reset(f"twilio-slow:{twilio_entry(fake_twilio)['OPTIONS']['from_number']}")
        messages = make_queued_messages(live_template, count=3)
        dispatch.messages_dispatch(message_ids=[m.id for m in messages])
        rows = list(
            Message.objects.filter(id__in=[m.id for m in messages]).values_list(
                "status", "attempts", "error_code"
            )
        )
        assert sorted(rows) == [(S.QUEUED, 0, "rate_limited"), (S.QUEUED, 0, "rate_limited"), (S.SENT, 1, "")]
        assert len(fake_twilio.calls) == 1


class TestDispatchConsequences:
    def test_suppressed_address_is_blocked_before_any_provider(self, live_template, two_twilios):
        from audit.services import Actor
        from hub.contacts.services import suppression_add

        suppression_add(channel="sms", address="+447911123456", reason="sms_opt_out", actor=Actor.system())
        (message,) = make_queued_messages(live_template)
        dispatch.messages_dispatch(message_ids=[message.id])
        message.refresh_from_db()
        assert (message.status, message.block_reason) == (S.BLOCKED, "suppressed")
        assert all(len(s.calls) == 0 for s in two_twilios)

    def test_twilio_21610_suppresses_and_withdraws_consent_never_retried(
        self, live_template, two_twilios, contact
    ):
        primary, secondary = two_twilios
        (message,) = make_queued_messages(live_template, to=UNSUBSCRIBED_NUMBER, contact=contact)
        dispatch.messages_dispatch(message_ids=[message.id])
        message.refresh_from_db()
        assert (message.status, message.error_code) == (S.FAILED, "21610")
        assert len(primary.calls) + len(secondary.calls) == 1, "a permanent error never fails over"
        assert Suppression.objects.filter(
            channel="sms", address=UNSUBSCRIBED_NUMBER, reason="sms_opt_out"
        ).exists()
        entry = ConsentEntry.objects.get(contact=contact)
        assert (entry.channel, entry.granted, entry.source) == ("sms", False, "provider")

    def test_configuration_error_alerts_and_does_not_spend_a_try(self, live_template, settings, fake_twilio):
        from audit.models import AuditRecord

        settings.HUB_PROVIDERS = {
            **settings.HUB_PROVIDERS,
            "sms": [twilio_entry(fake_twilio, auth_token="wrong")],
        }
        (message,) = make_queued_messages(live_template)
        dispatch.messages_dispatch(message_ids=[message.id])
        message.refresh_from_db()
        assert (message.status, message.attempts, message.error_code) == (S.QUEUED, 0, "20003")
        assert AuditRecord.objects.filter(action="provider.misconfigured", object_id="twilio").exists()
        assert health.provider_health("twilio").demoted

    def test_unregistered_fcm_device_is_removed_and_later_sends_are_blocked(
        self, settings, fake_fcm, tmp_path, contact
    ):
        template = make_live_template("app.alert", variants=ALL_CHANNEL_VARIANTS)
        settings.HUB_PROVIDERS = {
            **settings.HUB_PROVIDERS,
            "push": [fcm_entry(fake_fcm, str(fake_fcm.service_account_file(tmp_path)))],
        }
        device = make_device(contact, token="unregistered-abc")
        (message,) = make_queued_messages(template, channel="push", to=f"device:{device.pk}", contact=contact)
        dispatch.messages_dispatch(message_ids=[message.id])
        message.refresh_from_db()
        device.refresh_from_db()
        assert (message.status, message.error_code) == (S.FAILED, "UNREGISTERED")
        assert device.removed_at is not None
        (again,) = make_queued_messages(template, channel="push", to=f"device:{device.pk}", contact=contact)
        dispatch.messages_dispatch(message_ids=[again.id])
        again.refresh_from_db()
        assert (again.status, again.block_reason) == (S.BLOCKED, "no_address")
        assert Device.objects.filter(removed_at__isnull=True).count() == 0


def test_a_timeout_does_not_fail_over_because_the_first_provider_may_have_sent_it(
    live_template, two_twilios, settings
):
    primary, secondary = two_twilios
    settings.HUB_PROVIDERS = {
        **settings.HUB_PROVIDERS,
        "sms": [
            twilio_entry(primary, "twilio-primary", timeout=0.5),
            twilio_entry(secondary, "twilio-secondary"),
        ],
    }
    primary.inject(Injection(201, {}, delay=1.5))
    (message,) = make_queued_messages(live_template)
    dispatch.messages_dispatch(message_ids=[message.id])
    message.refresh_from_db()
    assert (message.status, message.error_code) == (S.QUEUED, "timeout")
    assert secondary.calls == []
