"""SendGrid through the real SDK against the fake SendGrid API."""

from __future__ import annotations

import pytest

from bench.fakes.sendgrid import sent_mails
from bench.fakes.server import Injection
from hub.providers.base import OutboundMessage
from hub.providers.errors import PermanentProviderError, ProviderConfigurationError, RetryableProviderError
from hub.providers.sendgrid import MESSAGE_ID_ARG, SendGridEmailProvider
from tests.fake_servers import sendgrid_entry

CONTENT = {"subject": "Your order", "text": "Hi Ada", "html": "<p>Hi Ada</p>"}


def provider(server, **options):
    entry = sendgrid_entry(server, **options)
    return SendGridEmailProvider(entry["NAME"], **entry["OPTIONS"])


def mail(n=1, category="transactional", to=None, **metadata):
    return OutboundMessage(
        message_id=f"msg-{n}",
        channel="email",
        to=to or f"person{n}@example.com",
        content=CONTENT,
        category=category,
        metadata={"template": "order.shipped", **metadata},
    )


def test_one_mail_carries_our_id_categories_and_content(fake_sendgrid):
    result = provider(fake_sendgrid).send(mail())
    assert result.provider_message_id
    (body,) = sent_mails(fake_sendgrid)
    (personalization,) = body["personalizations"]
    assert personalization["custom_args"] == {MESSAGE_ID_ARG: "msg-1"}
    assert personalization["to"] == [{"email": "person1@example.com"}]
    assert body["categories"] == ["transactional", "order.shipped"]
    assert body["content"] == [
        {"type": "text/plain", "value": "Hi Ada"},
        {"type": "text/html", "value": "<p>Hi Ada</p>"},
    ]
    # No List-Unsubscribe on transactional mail; our Message-ID on every mail, for replies.
    assert personalization["headers"] == {"Message-ID": "<msg-1@switchboard>"}


def test_marketing_mail_has_one_click_unsubscribe_headers(fake_sendgrid):
    provider(fake_sendgrid).send(mail(category="marketing", unsubscribe_url="https://hub.example.com/u/tok"))
    (body,) = sent_mails(fake_sendgrid)
    assert body["personalizations"][0]["headers"] == {
        "Message-ID": "<msg-1@switchboard>",
        "List-Unsubscribe": "<https://hub.example.com/u/tok>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def test_broadcast_of_one_version_shares_requests_of_up_to_1000(fake_sendgrid):
    messages = [mail(n) for n in range(1, 1202)]
    results = provider(fake_sendgrid).send_many(messages)
    assert all(not isinstance(r, Exception) for r in results)
    bodies = sent_mails(fake_sendgrid)
    assert [len(b["personalizations"]) for b in bodies] == [1000, 201]
    ids = [p["custom_args"][MESSAGE_ID_ARG] for b in bodies for p in b["personalizations"]]
    assert ids == [m.message_id for m in messages]


def test_one_invalid_address_in_a_shared_request_fails_only_itself(fake_sendgrid):
    messages = [mail(1), mail(2, to="not-an-address"), mail(3)]
    results = provider(fake_sendgrid).send_many(messages)
    assert not isinstance(results[0], Exception) and not isinstance(results[2], Exception)
    assert isinstance(results[1], PermanentProviderError)
    assert (results[1].code, results[1].http_status) == ("invalid_address", 400)


@pytest.mark.parametrize(
    ("status", "headers", "expected", "retry_after"),
    [
        (429, {"Retry-After": "7"}, RetryableProviderError, 7.0),
        (500, {}, RetryableProviderError, None),
        (503, {}, RetryableProviderError, None),
        (401, {}, ProviderConfigurationError, None),
    ],
)
def test_http_errors_map_by_table(fake_sendgrid, status, headers, expected, retry_after):
    fake_sendgrid.inject(Injection(status, {"errors": [{"message": "nope", "field": None}]}, headers))
    with pytest.raises(expected) as caught:
        provider(fake_sendgrid).send(mail())
    assert caught.value.http_status == status
    if retry_after is not None:
        assert caught.value.retry_after == retry_after


def test_a_silent_server_is_a_retryable_timeout(fake_sendgrid):
    fake_sendgrid.inject(Injection(202, "", delay=1.5))
    with pytest.raises(RetryableProviderError) as caught:
        provider(fake_sendgrid, timeout=0.5).send(mail())
    assert caught.value.code == "timeout"
