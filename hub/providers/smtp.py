"""Email through any SMTP server, using Django's own SMTP mail backend.

Options (all optional; Django's ``EMAIL_*`` settings fill the gaps): ``host``, ``port``,
``username``, ``use_tls``, ``use_ssl``, ``from_email``; the password comes from the
environment (``SMTP_PASSWORD``) through settings, never from admin.
"""

from __future__ import annotations

import smtplib
from typing import Any

from django.core.mail import EmailMultiAlternatives, get_connection

from hub.providers.base import (
    OutboundMessage,
    Provider,
    SendResult,
    email_message_id,
    list_unsubscribe_headers,
)
from hub.providers.errors import (
    PermanentProviderError,
    ProviderConfigurationError,
    ProviderError,
    RetryableProviderError,
)

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


def map_smtp_reply(code: int, text: str) -> ProviderError:
    """RFC 5321: 4xx is transient, 5xx permanent; 530/535 mean our credentials are wrong."""
    if code in (530, 535):
        return ProviderConfigurationError(f"SMTP {code}: {text}", code=str(code))
    if 400 <= code < 500:
        return RetryableProviderError(f"SMTP {code}: {text}", code=str(code))
    return PermanentProviderError(f"SMTP {code}: {text}", code=str(code))


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply


class SmtpEmailProvider(Provider):
    channel = "email"
    vendor = "SMTP"

    def __init__(self, name: str, **options: Any) -> None:
        super().__init__(name, **options)
        self.from_email: str = self.options.get("from_email", "")
        self.connection_options = {
            key: self.options[key]
            for key in ("host", "port", "username", "password", "use_tls", "use_ssl")
            if key in self.options
        }

    def _send(self, message: OutboundMessage) -> SendResult:
        message_id = email_message_id(message.message_id)
        headers = {"Message-ID": message_id, **list_unsubscribe_headers(message)}
        email = EmailMultiAlternatives(
            subject=message.content.get("subject", ""),
            body=message.content.get("text", ""),
            from_email=self.from_email or None,
            to=[message.to],
            headers=headers,
            reply_to=[message.metadata["reply_to"]] if message.metadata.get("reply_to") else None,
        )
        if message.content.get("html"):
            email.attach_alternative(message.content["html"], "text/html")
        connection = get_connection(
            SMTP_BACKEND, fail_silently=False, timeout=self.timeout, **self.connection_options
        )
        try:
            email.connection = connection
            email.send()
        except smtplib.SMTPAuthenticationError as exc:
            raise ProviderConfigurationError(
                f"SMTP {exc.smtp_code}: login refused", code=str(exc.smtp_code)
            ) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            raise map_smtp_reply(code, _text(text)) from exc
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            raise map_smtp_reply(exc.smtp_code, _text(exc.smtp_error)) from exc
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError) as exc:
            raise RetryableProviderError(f"SMTP connection failed: {exc}", code="network") from exc
        return SendResult(provider_message_id=message_id)
