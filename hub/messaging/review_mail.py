"""Review notices through the hub's own pipeline (called by ``templates_app`` through the
``TEMPLATES_REVIEW_NOTIFY_FUNCTION`` setting): one transactional email notification per
address, accepted by the one intake (audited like any send)."""

from __future__ import annotations

import logging

from django.conf import settings

from hub.messaging.intake import NotificationRejected, NotificationRequest, Origin, notifications_accept
from hub.messaging.models import Routing
from templates_app.services.review_mail import REVIEW_TEMPLATE_KEY

logger = logging.getLogger("hub.review_mail")


def review_mail_send(*, emails: list[str], subject: str, message: str, path: str, reference: str) -> int:
    """Accept the notices; returns how many were accepted. A refusal (the template removed,
    say) is logged, never raised: the review step it reports on has already happened."""
    data = {"subject": subject, "message": message, "link": f"{settings.HUB_BASE_URL}{path}"}
    requests = [
        NotificationRequest(
            template=REVIEW_TEMPLATE_KEY,
            to={"email": email},
            data=data,
            channels=["email"],
            routing=Routing.ALL,
            reference=reference[:200],
        )
        for email in emails
    ]
    try:
        results = notifications_accept(
            requests, api_key=None, origin=Origin("review", {"reference": reference}), timelines=False
        )
    except Exception:  # the review itself is done; a notice must not turn it into an error
        logger.exception("review notice %s could not be accepted", reference)
        return 0
    refused = [r for r in results if isinstance(r, NotificationRejected)]
    for refusal in refused:
        logger.warning("review notice %s refused: %s", reference, refusal.detail)
    return len(results) - len(refused)
