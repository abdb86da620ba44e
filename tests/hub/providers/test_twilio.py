"""Twilio through the real SDK against the fake Twilio API: sender choice, error table."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote_plus

import aiohttp
import pytest

from bench.fakes.server import Call, Injection
from bench.fakes.twilio import INVALID_NUMBER, UNSUBSCRIBED_NUMBER, sent_messages
from hub.providers.base import OutboundMessage
from hub.providers.errors import PermanentProviderError, ProviderConfigurationError, RetryableProviderError
from hub.providers.twilio import TwilioSmsProvider, form_encoded, form_quote
from tests.fake_servers import twilio_entry


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


def sent_to(number: str) -> Callable[[Call], bool]:
    return lambda call: quote_plus(number) in call.body.decode()


class TestBatch:
    """A batch goes through the SDK's asynchronous API; each message's result is what ``send``
    gives for it, whatever the others' are."""

    def test_each_message_gets_its_own_result_in_order(self, fake_twilio):
        numbers = ["+447911123450", INVALID_NUMBER, "+447911123451", UNSUBSCRIBED_NUMBER, "+447911123452"]
        batch = [
            OutboundMessage(
                message_id=f"m{i}",
                channel="sms",
                to=n,
                content={"text": f"Hi {i}"},
                status_callback_url="https://hub/cb",
            )
            for i, n in enumerate(numbers)
        ]
        results = provider(fake_twilio, concurrency=3).send_many(batch)
        assert [type(r).__name__ for r in results] == [
            "SendResult",
            "PermanentProviderError",
            "SendResult",
            "PermanentProviderError",
            "SendResult",
        ]
        assert results[1].code == "21211" and not results[1].suppress
        assert (results[3].code, results[3].withdraw_consent) == ("21610", True)
        assert len({r.provider_message_id for r in results if not isinstance(r, Exception)}) == 3
        forms = sent_messages(fake_twilio)
        assert sorted(f["Body"] for f in forms) == [f"Hi {i}" for i in range(5)]
        assert {f["StatusCallback"] for f in forms} == {"https://hub/cb"}
        assert all(f["From"] for f in forms)

    def test_429_in_a_batch_keeps_its_own_retry_after(self, fake_twilio):
        fake_twilio.inject(
            Injection(429, {"code": 20429, "message": "Too Many Requests"}, {"Retry-After": "7"}, times=2)
        )
        results = provider(fake_twilio, concurrency=1).send_many([sms(), sms(), sms()])
        retryable = [r for r in results if isinstance(r, RetryableProviderError)]
        assert [(r.code, r.retry_after) for r in retryable] == [("20429", 7.0), ("20429", 7.0)]
        assert sum(1 for r in results if not isinstance(r, Exception)) == 1

    def test_concurrent_answers_keep_their_own_retry_after(self, fake_twilio):
        slow, busy, fine = "+447911123461", "+447911123462", "+447911123463"
        for number, seconds in ((slow, "5"), (busy, "9")):
            fake_twilio.inject(
                Injection(
                    429,
                    {"code": 20429, "message": "Too Many Requests"},
                    {"Retry-After": seconds},
                    match=sent_to(number),
                )
            )
        results = provider(fake_twilio, concurrency=3).send_many([sms(slow), sms(busy), sms(fine)])
        assert [getattr(r, "retry_after", None) for r in results] == [5.0, 9.0, None]
        assert not isinstance(results[2], Exception)

    def test_batches_reuse_the_threads_connections(self, fake_twilio):
        twilio = provider(fake_twilio, concurrency=2)
        twilio.send_many([sms(), sms()])
        first = twilio._async_lane()
        twilio.send_many([sms(), sms()])
        assert twilio._async_lane() is first
        assert not first.http.session.closed
        assert len(sent_messages(fake_twilio)) == 4

    def test_wrong_credentials_are_a_configuration_error(self, fake_twilio):
        results = provider(fake_twilio, auth_token="wrong").send_many([sms(), sms()])
        assert all(isinstance(r, ProviderConfigurationError) for r in results)

    def test_a_silent_twilio_times_out_as_retryable(self, fake_twilio):
        fake_twilio.inject(Injection(201, {}, delay=1.5, times=None))
        results = provider(fake_twilio, timeout=0.5).send_many([sms(), sms()])
        assert [(type(r), r.code) for r in results] == [(RetryableProviderError, "timeout")] * 2

    def test_a_reset_connection_is_a_retryable_network_error(self, fake_twilio):
        fake_twilio.inject(Injection(201, reset=True, times=None))
        results = provider(fake_twilio).send_many([sms(), sms()])
        assert [(type(r), r.code) for r in results] == [(RetryableProviderError, "network")] * 2


class TestFormBody:
    """A batch's request bodies are encoded by ``form_encoded``, not by aiohttp's ``FormData``:
    the same bytes and content type, for any text."""

    TEXTS = [
        "",
        "plain",
        "Hi Ada, your code is 123456.",
        "+447911123450",
        "https://hub.example/webhooks/twilio/status?m=0190-ab&x=1",
        "a+b=c&d%e/f:g;h#i?j",
        "tab\there\nnew line\r\n  two spaces",
        "naïve café ünïcödé \u2013 \u201cquotes\u201d \u2014 日本語 🎉👍🏽",
        "~_.-*'()!$,@[]{}|\\^`\"<>",
    ]

    @pytest.mark.parametrize("text", TEXTS)
    def test_a_text_is_quoted_as_quote_plus_quotes_it(self, text):
        assert form_quote(text) == quote_plus(text)

    def test_a_body_is_what_formdata_makes_of_it(self):
        data = {
            "To": "+447911123450",
            "Body": self.TEXTS[7],
            "From": "+15005550006",
            "MediaUrl": ["a b", "c&d"],
        }
        ours = form_encoded(data)
        theirs = aiohttp.FormData(data)()
        assert isinstance(ours, aiohttp.BytesPayload)
        assert (ours._value, ours.content_type) == (theirs._value, theirs.content_type)

    def test_a_file_field_is_left_to_aiohttp(self):
        data = {"To": "+447911123450", "Media": b"\x00\x01"}
        assert form_encoded(data) is data
