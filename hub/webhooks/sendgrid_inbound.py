"""SendGrid Inbound Parse: ``POST /webhooks/sendgrid/inbound`` (multipart/form-data).

Authentication: HTTP basic auth, which SendGrid sends when the Parse URL carries it
(``https://user:password@hub.example.com/webhooks/sendgrid/inbound``); the expected pair is
``SENDGRID_INBOUND_BASIC_AUTH`` (``user:password``). Unset, or a wrong or missing
``Authorization`` header: 403 and nothing changes. (SendGrid's signed Event Webhook does not
cover Inbound Parse posts, so basic auth over HTTPS is the check SendGrid offers for every
account.)

Both Parse formats are read: the default (fields ``from``, ``to``, ``subject``, ``text``,
``html``, ``headers``) and "POST the raw, full MIME message" (field ``email``). The email's
own Message-ID makes a redelivery a replay; its In-Reply-To and References name the message it
answers (every outbound email carries our Message-ID, ``hub.providers.base.email_message_id``).
Attachments are not kept.

Anyone can put any address in From. SendGrid reports what the receiving server checked: the
``SPF`` field (``pass``...) and the ``dkim`` field (``{@example.com : pass}``). Unless SPF
passed or a DKIM signature of the sender's own domain passed, the email names no contact and
answers no message: it lands in the inbox for support to judge (and calls no service).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from email import message_from_string, policy
from email.message import EmailMessage
from email.parser import HeaderParser
from email.utils import parseaddr

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.html import strip_tags

from hub.contacts.inbound import InboundRequest, inbound_receive
from hub.providers.base import email_message_ids_in
from hub.webhooks.base import SignatureInvalid, webhook

PROVIDER = "sendgrid-inbound"
_SPACES = re.compile(r"\n{3,}")


def sendgrid_inbound_verify(request: HttpRequest) -> None:
    """Return if the request carries the configured basic auth; SignatureInvalid otherwise."""
    expected = settings.SENDGRID_INBOUND_BASIC_AUTH
    if not expected or ":" not in expected:
        raise SignatureInvalid("SENDGRID_INBOUND_BASIC_AUTH is not set")
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic" or not value:
        raise SignatureInvalid("no basic auth")
    try:
        given = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureInvalid("basic auth is not base64") from exc
    if not hmac.compare_digest(given, expected.encode()):
        raise SignatureInvalid("basic auth does not match")


def sendgrid_inbound_request(form: dict[str, str]) -> InboundRequest:
    """The inbound message a Parse post describes (either format)."""
    raw = form.get("email", "")
    if raw:
        parsed = message_from_string(raw, policy=policy.default)
        headers = {k.lower(): str(v) for k, v in parsed.items()}
        text = _raw_text(parsed) if isinstance(parsed, EmailMessage) else ""
    else:
        header_block = HeaderParser().parsestr(form.get("headers", ""))
        headers = {k.lower(): str(v) for k, v in header_block.items()}
        text = form.get("text", "") or _SPACES.sub("\n\n", strip_tags(form.get("html", "")))
    sender = parseaddr(form.get("from") or headers.get("from", ""))[1].strip().lower()
    recipient = parseaddr(form.get("to") or headers.get("to", ""))[1].strip().lower()
    subject = form.get("subject") or headers.get("subject", "")
    own_id = headers.get("message-id", "").strip()
    key = own_id or "\n".join((sender, subject, headers.get("date", ""), text))
    references = email_message_ids_in(headers.get("in-reply-to", ""))
    references += [
        r for r in reversed(email_message_ids_in(headers.get("references", ""))) if r not in references
    ]
    return InboundRequest(
        sender_verified=sender_authenticated(
            sender,
            spf=form.get("SPF", ""),
            dkim=form.get("dkim", ""),
            envelope_from=envelope_sender(form.get("envelope", "")),
        ),
        channel="email",
        from_address=sender,
        to_address=recipient,
        subject=subject.strip(),
        body=text.strip(),
        provider=PROVIDER,
        provider_message_id="email:" + hashlib.sha256(key.encode()).hexdigest(),
        references=references,
    )


_DKIM_RESULT = re.compile(r"@([^\s:{},]+)\s*:\s*(\w+)")


def _aligned(domain: str, other: str) -> bool:
    """DMARC's relaxed alignment, approximately: the same domain, or one a subdomain of the other."""
    return bool(domain and other) and (
        domain == other or domain.endswith("." + other) or other.endswith("." + domain)
    )


def envelope_sender(envelope: str) -> str:
    """The SMTP envelope's sender (MAIL FROM) in SendGrid's ``envelope`` field, or ""."""
    try:
        value = json.loads(envelope) if envelope else {}
    except ValueError:
        return ""
    sender = value.get("from") if isinstance(value, dict) else None
    return sender.strip().lower() if isinstance(sender, str) else ""


def sender_authenticated(sender: str, *, spf: str, dkim: str, envelope_from: str = "") -> bool:
    """The From address's domain vouched for: SPF passed for an envelope sender of the same
    domain (SPF checks the envelope, which anyone may set apart from the From header: a pass for
    ``mallory@evil.example`` says nothing of ``From: ada@example.com``), or a DKIM signature of
    the From domain (or a parent of it) passed."""
    domain = sender.rpartition("@")[2].lower()
    if spf.strip().lower() == "pass" and _aligned(domain, envelope_from.rpartition("@")[2].lower()):
        return True
    for signed, result in _DKIM_RESULT.findall(dkim):
        signed = signed.lower()
        if result.lower() == "pass" and domain and (domain == signed or domain.endswith("." + signed)):
            return True
    return False


def _raw_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None or not isinstance(part, EmailMessage):
        return ""
    content = str(part.get_content())
    return content if part.get_content_subtype() == "plain" else _SPACES.sub("\n\n", strip_tags(content))


@webhook(PROVIDER)
def inbound_email(request: HttpRequest) -> HttpResponse:
    """POST /webhooks/sendgrid/inbound: every email lands on a conversation."""
    sendgrid_inbound_verify(request)
    form = {key: request.POST.get(key, "") for key in request.POST}
    inbound = sendgrid_inbound_request(form)
    if not inbound.from_address:
        return HttpResponse("No sender.", status=400, content_type="text/plain")
    inbound_receive(inbound)
    return HttpResponse(status=200)
