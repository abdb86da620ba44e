"""Twilio through the real SDK against the fake Twilio API: sender choice, error table."""

from __future__ import annotations

import pytest

from hub.providers.base import OutboundMessage
from hub.providers.errors import PermanentProviderError, ProviderConfigurationError, RetryableProviderError
from hub.providers.twilio import TwilioSmsProvider
from tests.fakes.fixtures import twilio_entry
from tests.fakes.server import Injection
from tests.fakes.twilio import INVALID_NUMBER, UNSUBSCRIBED_NUMBER, sent_messages


def provider(server, **options):
    entry = twilio_entry(server, **options)
    return TwilioSmsProvider(entry["NAME"], **entry["OPTIONS"])


def sms(to="+447911123456"):
    return OutboundMessage(
        message_id="m1", channel="sms", to=to, content={"text": "Hi"}, status_callback_url="https://hub/cb"
    )


def test_messaging_service_is_used_instead_of_a_from_number(fake_twilio):
    provider(fake_twilio, from_number="", messaging_service_sid="MG" + "1" * 32).send(sms())
    (form,) = sent_messages(fake_twilio)
    assert form["MessagingServiceSid"] == "MG" + "1" * 32 and "From" not in form
    assert form["StatusCallback"] == "https://hub/cb"


def test_invalid_number_is_permanent_without_suppression(fake_twilio):
    with pytest.raises(PermanentProviderError) as caught:
        provider(fake_twilio).send(sms(INVALID_NUMBER))
    assert caught.value.code == "21211" and not caught.value.suppress


def test_unsubscribed_recipient_suppresses_and_withdraws_consent(fake_twilio):
    with pytest.raises(PermanentProviderError) as caught:
        provider(fake_twilio).send(sms(UNSUBSCRIBED_NUMBER))
    error = caught.value
    assert (error.code, error.suppress, error.suppression_reason, error.withdraw_consent) == (
        "21610",
        True,
        "sms_opt_out",
        True,
    )


def test_429_honours_retry_after(fake_twilio):
    fake_twilio.inject(Injection(429, {"code": 20429, "message": "Too Many Requests"}, {"Retry-After": "9"}))
    with pytest.raises(RetryableProviderError) as caught:
        provider(fake_twilio).send(sms())
    assert (caught.value.code, caught.value.retry_after) == ("20429", 9.0)


def test_wrong_credentials_are_a_configuration_error(fake_twilio):
    with pytest.raises(ProviderConfigurationError):
        provider(fake_twilio, auth_token="wrong").send(sms())


def test_a_silent_twilio_times_out_as_retryable(fake_twilio):
    fake_twilio.inject(Injection(201, {}, delay=1.5))
    with pytest.raises(RetryableProviderError) as caught:
        provider(fake_twilio, timeout=0.5).send(sms())
    assert caught.value.code == "timeout"


def test_rate_limit_bucket_is_per_sender(fake_twilio):
    a = provider(fake_twilio, from_number="+15005550006")
    b = provider(fake_twilio, from_number="", messaging_service_sid="MG1")
    assert a.rate_limit_key(sms()) != b.rate_limit_key(sms())
