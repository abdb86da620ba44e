"""Twilio webhooks: message status callbacks and inbound SMS.

Signatures (``X-Twilio-Signature``) are checked with the SDK's RequestValidator against the
*public* URL (``HUB_BASE_URL`` + path), which is what Twilio signed; behind a proxy or a
load balancer the internal host and scheme would not match.
"""

from __future__ import annotations

from uuid import UUID

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from hub.contacts.inbound import sms_inbound_receive
from hub.contacts.keywords import SmsKeyword
from hub.messaging.feedback import ErrorClass, Outcome
from hub.messaging.models import MessageStatus as S
from hub.messaging.reports import ProviderReport, provider_reports_enqueue
from hub.providers.registry import channel_entries
from hub.providers.selectors import keyword_reply
from hub.providers.twilio import twilio_code_suppression
from hub.webhooks.base import SignatureInvalid, webhook

PROVIDER = "twilio"

# Twilio MessageStatus → ours. Statuses not listed (queued, accepted, scheduled, sending,
# canceled...) are kept on the timeline as provider events without changing the status.
STATUS_MAP = {
    "sent": S.SENT,
    "delivered": S.DELIVERED,
    "undelivered": S.UNDELIVERED,
    "failed": S.FAILED,
}
FAILED_STATUSES = frozenset({S.UNDELIVERED, S.FAILED})
ENGAGEMENT_MAP = {"read": "opened"}
# What an ErrorCode means for the number is Twilio's code table, in hub.providers.twilio.
# The form keys the hub acts on. Twilio sends each once; its signature covers a repeated key's
# values as a sorted set, so reordering or repeating them keeps a valid signature while
# changing the value the hub would read: a form that repeats one of these is refused.
SINGLE_KEYS = frozenset(
    {"MessageSid", "SmsSid", "MessageStatus", "SmsStatus", "ErrorCode", "From", "To", "Body"}
)


def _auth_tokens() -> list[str]:
    tokens = [settings.TWILIO_AUTH_TOKEN] if settings.TWILIO_AUTH_TOKEN else []
    for entry in channel_entries("sms"):
        token = entry.get("OPTIONS", {}).get("auth_token")
        if entry["BACKEND"].endswith("TwilioSmsProvider") and token and token not in tokens:
            tokens.append(token)
    return tokens


def twilio_request_verify(request: HttpRequest) -> dict[str, str]:
    """The form parameters of a request Twilio provably signed; SignatureInvalid otherwise."""
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        raise SignatureInvalid("no X-Twilio-Signature")
    url = settings.HUB_BASE_URL + request.get_full_path()
    for token in _auth_tokens():
        # The QueryDict itself: the SDK reads every value of a repeated key (getlist), as
        # Twilio signed them; a plain dict would keep only the last one.
        if RequestValidator(token).validate(url, request.POST, signature):
            repeated = sorted(k for k in SINGLE_KEYS if len(request.POST.getlist(k)) > 1)
            if repeated:
                raise SignatureInvalid(
                    f"repeated form key(s) {', '.join(repeated)}: the signature cannot tell which value"
                )
            return {key: request.POST.get(key, "") for key in request.POST}
    raise SignatureInvalid("X-Twilio-Signature does not match")


def twilio_status_report(params: dict[str, str], *, message_id: str = "") -> ProviderReport:
    """Normalise one status callback; ``message_id`` is ours, from the callback URL."""
    sid = params.get("MessageSid") or params.get("SmsSid", "")
    vendor_status = (params.get("MessageStatus") or params.get("SmsStatus", "")).lower()
    error_code = params.get("ErrorCode", "")
    suppression, opted_out = twilio_code_suppression(error_code)
    status = STATUS_MAP.get(vendor_status, "")
    outcome = Outcome(
        message_id=_uuid_or_none(message_id),
        provider_message_id=sid,
        status=status,
        engagement=ENGAGEMENT_MAP.get(vendor_status, ""),
        error_code=error_code,
        error_class=ErrorClass.PERMANENT if error_code and status in FAILED_STATUSES else ErrorClass.NONE,
        permanent=bool(suppression),
        suppress=suppression,
        opt_out=opted_out,
        detail={"error_code": error_code} if error_code else {},
    )
    return ProviderReport(event_id=f"{sid}:{vendor_status}", vendor_event=vendor_status, outcome=outcome)


def _uuid_or_none(value: str) -> UUID | None:
    try:
        return UUID(value) if value else None
    except ValueError:
        return None


@webhook(PROVIDER)
def status_callback(request: HttpRequest) -> HttpResponse:
    """POST /webhooks/twilio/status"""
    params = twilio_request_verify(request)
    report = twilio_status_report(params, message_id=request.GET.get("message", ""))
    provider_reports_enqueue(provider=PROVIDER, reports=[report])
    return HttpResponse(status=204)


@webhook(PROVIDER)
def inbound_sms(request: HttpRequest) -> HttpResponse:
    """POST /webhooks/twilio/inbound: keywords act; every reply lands on the timeline."""
    params = twilio_request_verify(request)
    outcome = sms_inbound_receive(
        from_number=params.get("From", ""),
        to_number=params.get("To", ""),
        body=params.get("Body", ""),
        provider=PROVIDER,
        provider_message_id=params.get("MessageSid") or params.get("SmsSid", ""),
    )
    twiml = MessagingResponse()
    reply = "" if outcome.duplicate else keyword_reply(SmsKeyword(outcome.keyword))
    if reply:
        twiml.message(reply)
    return HttpResponse(str(twiml), content_type="application/xml")
