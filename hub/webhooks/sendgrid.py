"""SendGrid's signed Event Webhook.

Each POST is verified before it is read: an ECDSA P-256 / SHA-256 signature over the
timestamp header followed by the raw body, with the public key from
``SENDGRID_WEBHOOK_PUBLIC_KEY`` (base64 DER, as SendGrid shows it), and a timestamp within
five minutes. Events find their message by the id we put in ``custom_args``; the table
below turns SendGrid's events into the feedback path's outcomes (SendGrid's send-time errors
are mapped in ``hub.providers.sendgrid``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from hub.contacts.models import SuppressionReason
from hub.messaging.feedback import ErrorClass, Outcome
from hub.messaging.models import MessageStatus as S
from hub.messaging.reports import ProviderReport, provider_reports_enqueue
from hub.providers.sendgrid import MESSAGE_ID_ARG
from hub.webhooks.base import SignatureInvalid, webhook

PROVIDER = "sendgrid"
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
MAX_SKEW_SECONDS = 300


# SendGrid event → what it means here (the message id is filled in per event). Events not
# listed are kept as provider events.
EVENT_TABLE: dict[str, Outcome] = {
    "processed": Outcome(),
    "deferred": Outcome(),
    "delivered": Outcome(status=S.DELIVERED),
    "bounce": Outcome(
        status=S.BOUNCED,
        error_class=ErrorClass.PERMANENT,
        permanent=True,
        suppress=SuppressionReason.HARD_BOUNCE,
        bounce=True,
    ),
    # A "blocked" bounce is the receiving server refusing for now (reputation, content).
    "bounce:blocked": Outcome(status=S.UNDELIVERED, error_class=ErrorClass.RETRYABLE),
    "dropped": Outcome(status=S.FAILED, error_class=ErrorClass.PERMANENT, permanent=True),
    "open": Outcome(engagement="opened"),
    "click": Outcome(engagement="clicked"),
    "spamreport": Outcome(engagement="complained", suppress=SuppressionReason.COMPLAINT, complaint=True),
    "unsubscribe": Outcome(engagement="unsubscribed", opt_out=True),
    "group_unsubscribe": Outcome(engagement="unsubscribed", opt_out=True),
}
# Fields of an event safe to keep on the timeline (no addresses, no URLs with tokens).
SAFE_FIELDS = ("reason", "status", "type", "bounce_classification", "attempt", "sg_message_id")


def sendgrid_request_verify(request: HttpRequest, *, now: float | None = None) -> list[dict[str, Any]]:
    """The events of a request SendGrid provably signed; SignatureInvalid otherwise."""
    key = settings.SENDGRID_WEBHOOK_PUBLIC_KEY
    if not key:
        raise SignatureInvalid("SENDGRID_WEBHOOK_PUBLIC_KEY is not set")
    signature = request.headers.get(SIGNATURE_HEADER, "")
    timestamp = request.headers.get(TIMESTAMP_HEADER, "")
    if not signature or not timestamp:
        raise SignatureInvalid("signature or timestamp header missing")
    try:
        sent_at = int(timestamp)
    except ValueError as exc:
        raise SignatureInvalid("timestamp is not a number") from exc
    if abs((time.time() if now is None else now) - sent_at) > MAX_SKEW_SECONDS:
        raise SignatureInvalid("timestamp outside ±5 minutes")
    try:
        public_key = load_der_public_key(base64.b64decode(key))
        if not isinstance(public_key, ec.EllipticCurvePublicKey):
            raise SignatureInvalid("the configured key is not an EC key")
        public_key.verify(
            base64.b64decode(signature), timestamp.encode() + request.body, ec.ECDSA(hashes.SHA256())
        )
    except (InvalidSignature, binascii.Error, ValueError) as exc:
        raise SignatureInvalid("signature does not match") from exc
    try:
        events = json.loads(request.body)
    except ValueError as exc:
        raise SignatureInvalid("signed body is not JSON") from exc
    if not isinstance(events, list):
        raise SignatureInvalid("signed body is not a list of events")
    return [e for e in events if isinstance(e, dict)]


def sendgrid_event_report(event: dict[str, Any]) -> ProviderReport:
    """Normalise one event through EVENT_TABLE."""
    name = str(event.get("event", ""))
    lookup = f"{name}:{event.get('type')}" if name == "bounce" and event.get("type") == "blocked" else name
    meaning = EVENT_TABLE.get(lookup, Outcome())
    try:
        message_id: UUID | None = UUID(str(event.get(MESSAGE_ID_ARG, "")))
    except ValueError:
        message_id = None
    event_id = str(event.get("sg_event_id") or "")
    if not event_id:
        event_id = "sha256:" + hashlib.sha256(json.dumps(event, sort_keys=True).encode()).hexdigest()
    timestamp = event.get("timestamp")
    occurred = datetime.fromtimestamp(int(timestamp), tz=UTC) if isinstance(timestamp, int) else None
    outcome = replace(
        meaning,
        message_id=message_id,
        detail={k: event[k] for k in SAFE_FIELDS if k in event},
        occurred_at=occurred,
    )
    return ProviderReport(event_id=event_id, vendor_event=name, outcome=outcome)


@webhook(PROVIDER)
def events(request: HttpRequest) -> HttpResponse:
    """POST /webhooks/sendgrid/events"""
    batch = sendgrid_request_verify(request)
    provider_reports_enqueue(provider=PROVIDER, reports=[sendgrid_event_report(e) for e in batch])
    return HttpResponse(status=204)
