"""SMTP through Django's SMTP backend against a fake SMTP server."""

from __future__ import annotations

import pytest

from bench.fakes.smtp import SMTP_PASSWORD, SMTP_USER, FakeSmtpServer
from hub.providers.base import OutboundMessage
from hub.providers.errors import PermanentProviderError, ProviderConfigurationError, RetryableProviderError
from hub.providers.smtp import SmtpEmailProvider


@pytest.fixture
def smtp_server():
    server = FakeSmtpServer()
    yield server
    server.stop()


def provider(server, password=SMTP_PASSWORD):
    return SmtpEmailProvider(
        "smtp",
        host="127.0.0.1",
        port=server.port,
        username=SMTP_USER,
        password=password,
        use_tls=False,
        from_email="hub@example.com",
        timeout=5,
    )


def mail(to="ada@example.com", category="transactional"):
    return OutboundMessage(
        message_id="0191-msg",
        channel="email",
        to=to,
        content={"subject": "Order A-1", "text": "Hi Ada", "html": "<p>Hi Ada</p>"},
        category=category,
        metadata={"unsubscribe_url": "https://hub.example.com/u/tok"},
    )


def test_mail_is_sent_with_our_message_id(smtp_server):
    result = provider(smtp_server).send(mail())
    assert result.provider_message_id == "<0191-msg@switchboard>"
    (received,) = smtp_server.state.messages
    assert received.rcpt_to == ["ada@example.com"]
    assert "Message-ID: <0191-msg@switchboard>" in received.data
    assert "List-Unsubscribe" not in received.data


def test_marketing_mail_has_one_click_unsubscribe(smtp_server):
    provider(smtp_server).send(mail(category="marketing"))
    (received,) = smtp_server.state.messages
    assert "List-Unsubscribe: <https://hub.example.com/u/tok>" in received.data
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in received.data


@pytest.mark.parametrize(
    ("to", "password", "expected", "code"),
    [
        ("unknown@example.com", SMTP_PASSWORD, PermanentProviderError, "550"),
        ("busy@example.com", SMTP_PASSWORD, RetryableProviderError, "451"),
        ("ada@example.com", "wrong", ProviderConfigurationError, "535"),
    ],
)
def test_smtp_replies_map_by_class(smtp_server, to, password, expected, code):
    with pytest.raises(expected) as caught:
        provider(smtp_server, password=password).send(mail(to=to))
    assert caught.value.code == code


def test_no_server_is_retryable():
    server = FakeSmtpServer()
    port = server.port
    server.stop()
    with pytest.raises(RetryableProviderError):
        SmtpEmailProvider("smtp", host="127.0.0.1", port=port, use_tls=False, timeout=2).send(mail())
