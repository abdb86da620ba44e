"""Push display receipts: ``POST /webhooks/push/receipt/<token>``.

FCM HTTP v1 and Web Push report acceptance only, never delivery. Each push therefore carries
a receipt URL (in FCM ``data.receipt_url``, in the Web Push payload ``receipt_url``) whose
token is our message id signed with ``SECRET_KEY``; the app or service worker POSTs to it
when the notification is shown, and the message becomes ``delivered``; with ``?event=opened``
when the person opens it, and ``?event=clicked`` when they follow its link (engagement,
counted in the reports; each once per message). A token that does not verify, or is older
than RECEIPT_MAX_AGE, gets 403 and changes nothing; an unknown event, 400.
"""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID

from django.core import signing
from django.http import HttpRequest, HttpResponse

from hub.messaging.feedback import Outcome
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


# The receipt's ?event= → what it means here. "displayed" is the default.
EVENT_TABLE: dict[str, Outcome] = {
    "displayed": Outcome(status=S.DELIVERED),
    "opened": Outcome(engagement="opened"),
    "clicked": Outcome(engagement="clicked"),
}


@webhook(PROVIDER)
def receipt(request: HttpRequest, token: str) -> HttpResponse:
    """POST /webhooks/push/receipt/<token>[?event=displayed|opened|clicked]"""
    message_id = push_receipt_verify(token)
    event = request.GET.get("event", "displayed")
    meaning = EVENT_TABLE.get(event)
    if meaning is None:
        return HttpResponse("Unknown receipt event.", status=400, content_type="text/plain")
    # The display receipt keeps the event id it always had, so old receipts replay as duplicates.
    event_id = f"receipt:{message_id}" if event == "displayed" else f"receipt:{message_id}:{event}"
    report = ProviderReport(
        event_id=event_id, vendor_event=event, outcome=replace(meaning, message_id=message_id)
    )
    provider_reports_apply(provider=PROVIDER, reports=[report])
    return HttpResponse(status=204)
