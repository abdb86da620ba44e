"""Push display receipts: ``POST /webhooks/push/receipt/<token>``.

FCM HTTP v1 and Web Push report acceptance only, never delivery. Each push therefore carries
a receipt URL (in FCM ``data.receipt_url``, in the Web Push payload ``receipt_url``) whose
token is our message id signed with ``SECRET_KEY``; the app or service worker POSTs to it
when the notification is shown, and the message becomes ``delivered``. A token that does not
verify, or is older than RECEIPT_MAX_AGE, gets 403 and changes nothing.
"""

from __future__ import annotations

from uuid import UUID

from django.core import signing
from django.http import HttpRequest, HttpResponse

from hub.messaging.links import PUSH_RECEIPT_SALT
from hub.messaging.models import MessageStatus as S
from hub.messaging.reports import ProviderReport, provider_reports_apply
from hub.webhooks.base import SignatureInvalid, webhook

PROVIDER = "push-receipt"
RECEIPT_MAX_AGE = 7 * 24 * 3600


def push_receipt_verify(token: str) -> UUID:
    """The message id a receipt token was signed for; SignatureInvalid otherwise."""
    try:
        return UUID(signing.loads(token, salt=PUSH_RECEIPT_SALT, max_age=RECEIPT_MAX_AGE))
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise SignatureInvalid("receipt token does not verify") from exc


@webhook(PROVIDER)
def receipt(request: HttpRequest, token: str) -> HttpResponse:
    """POST /webhooks/push/receipt/<token>"""
    message_id = push_receipt_verify(token)
    report = ProviderReport(
        event_id=f"receipt:{message_id}", vendor_event="displayed", message_id=message_id, status=S.DELIVERED
    )
    provider_reports_apply(provider=PROVIDER, reports=[report])
    return HttpResponse(status=204)
