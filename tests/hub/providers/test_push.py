"""FCM HTTP v1 (google-auth service account, token from the file's token_uri) and Web Push
(pywebpush, VAPID, aes128gcm) against fakes that check auth and decrypt the payload."""

from __future__ import annotations

import json

import pytest

from bench.fakes.fcm import fcm_error, sent_pushes
from bench.fakes.server import Injection
from hub.providers.base import OutboundMessage
from hub.providers.errors import PermanentProviderError, ProviderConfigurationError, RetryableProviderError
from hub.providers.fcm import FcmPushProvider
from hub.providers.webpush import WebPushProvider
from tests.fake_servers import fcm_entry, webpush_entry

CONTENT = {"title": "Order A-1", "text": "On its way", "link": "https://shop.example.com/o/A-1"}


def push(to, **metadata):
    return OutboundMessage(message_id="msg-1", channel="push", to=to, content=CONTENT, metadata=metadata)


@pytest.fixture
def fcm(fake_fcm, tmp_path):
    entry = fcm_entry(fake_fcm, str(fake_fcm.service_account_file(tmp_path)))
    return FcmPushProvider(entry["NAME"], **entry["OPTIONS"])


class TestFcm:
    def test_sends_with_a_token_fetched_once_from_the_files_token_uri(self, fcm, fake_fcm):
        first = fcm.send(push("device-token-1", device_kind="fcm"))
        fcm.send(push("device-token-2", device_kind="fcm"))
        assert first.provider_message_id
        assert fake_fcm.token_requests == 1, "the access token is cached"
        message = sent_pushes(fake_fcm)[0]
        assert message["token"] == "device-token-1"
        assert message["notification"] == {"title": "Order A-1", "body": "On its way"}
        assert message["data"] == {"message_id": "msg-1", "link": "https://shop.example.com/o/A-1"}
        assert message["android"]["ttl"].endswith("s")

    def test_unregistered_token_means_remove_the_device(self, fcm):
        with pytest.raises(PermanentProviderError) as caught:
            fcm.send(push("unregistered-token", device_kind="fcm"))
        assert caught.value.remove_device and caught.value.code == "UNREGISTERED"

    def test_quota_exceeded_is_retryable_with_the_hint(self, fcm, fake_fcm):
        fake_fcm.inject(
            Injection(
                429,
                fcm_error(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED", "quota"),
                {"Retry-After": "30"},
                match=lambda c: "messages:send" in c.path,
            )
        )
        with pytest.raises(RetryableProviderError) as caught:
            fcm.send(push("device-token-1"))
        assert (caught.value.code, caught.value.retry_after) == ("QUOTA_EXCEEDED", 30.0)

    def test_server_error_is_retryable(self, fcm, fake_fcm):
        fake_fcm.inject(
            Injection(
                503,
                fcm_error(503, "UNAVAILABLE", "UNAVAILABLE", "down"),
                match=lambda c: "messages:send" in c.path,
            )
        )
        with pytest.raises(RetryableProviderError):
            fcm.send(push("device-token-1"))

    def test_refused_credentials_are_a_configuration_error(self, fcm, fake_fcm):
        fake_fcm.inject(Injection(400, {"error": "invalid_grant"}, match=lambda c: c.path == "/token"))
        with pytest.raises(ProviderConfigurationError):
            fcm.send(push("device-token-1"))

    def test_fcm_does_not_take_web_push_devices(self, fcm):
        assert fcm.accepts(push("t", device_kind="fcm"))
        assert not fcm.accepts(push("https://x", device_kind="webpush"))


class TestWebPush:
    def test_payload_round_trips_through_aes128gcm_with_explicit_ttl(self, fake_webpush):
        entry = webpush_entry()
        provider = WebPushProvider(entry["NAME"], **entry["OPTIONS"], ttl_seconds=600)
        subscription = fake_webpush.subscription()
        result = provider.send(
            push(subscription["endpoint"], device_kind="webpush", subscription=subscription)
        )
        assert result.provider_message_id
        (received,) = fake_webpush.received
        assert received["ttl"] == 600
        assert json.loads(received["payload"]) == {
            "message_id": "msg-1",
            "title": "Order A-1",
            "body": "On its way",
            "link": "https://shop.example.com/o/A-1",
            "receipt_url": "",
        }

    @pytest.mark.parametrize("gone", [True, False])
    def test_gone_or_unknown_subscription_means_remove_the_device(self, fake_webpush, gone):
        entry = webpush_entry()
        provider = WebPushProvider(entry["NAME"], **entry["OPTIONS"])
        subscription = fake_webpush.subscription(gone=gone)
        if not gone:
            fake_webpush.keys.clear()  # the push service no longer knows it: 404
        with pytest.raises(PermanentProviderError) as caught:
            provider.send(push(subscription["endpoint"], device_kind="webpush", subscription=subscription))
        assert caught.value.remove_device
        assert caught.value.http_status == (410 if gone else 404)

    def test_push_service_overload_is_retryable(self, fake_webpush):
        entry = webpush_entry()
        provider = WebPushProvider(entry["NAME"], **entry["OPTIONS"])
        subscription = fake_webpush.subscription()
        fake_webpush.inject(Injection(429, {}, {"Retry-After": "12"}))
        with pytest.raises(RetryableProviderError) as caught:
            provider.send(push(subscription["endpoint"], device_kind="webpush", subscription=subscription))
        assert caught.value.retry_after == 12.0
