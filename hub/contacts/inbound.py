"""Inbound SMS: keep every reply on its contact's timeline, and act on keywords.

An opt-out withdraws the contact's SMS consent and suppresses the number (so nothing more
is sent to it, whoever it belongs to); an opt-in lifts that suppression and grants consent
again; help and other replies are only recorded. A provider redelivering the same message
(same provider message id) changes nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from audit.digests import address_digest, digest_key_id
from audit.services import Actor, audit_append
from hub.contacts.keywords import SmsKeyword, keyword_classify
from hub.contacts.models import ConsentSource, Contact, InboundMessage, SuppressionReason
from hub.contacts.services import consent_record, suppression_add, suppression_lift_matching
from hub.messaging.reports import sms_stop_unsubscribed_record

# Opt-outs and opt-ins by keyword concern marketing: transactional SMS never needs consent,
# but the suppression an opt-out writes blocks every SMS to the number until START.
KEYWORD_PURPOSE = "marketing"


@dataclass(frozen=True)
class InboundOutcome:
    """What the reply was: its keyword, the row kept, and whether it was a replay."""

    keyword: SmsKeyword
    inbound: InboundMessage
    duplicate: bool = False


def sms_inbound_receive(
    *, from_number: str, to_number: str, body: str, provider: str, provider_message_id: str
) -> InboundOutcome:
    """Record one inbound SMS and apply its keyword. Safe to call again for the same message."""
    keyword = keyword_classify(body)
    actor = Actor.provider(provider)
    with transaction.atomic():
        existing = (
            InboundMessage.objects.select_for_update().filter(provider_message_id=provider_message_id).first()
            if provider_message_id
            else None
        )
        if existing is not None:
            return InboundOutcome(SmsKeyword(existing.keyword), existing, duplicate=True)
        contact = Contact.objects.filter(phone=from_number).order_by("pk").first()
        inbound = InboundMessage.objects.create(
            contact=contact,
            channel="sms",
            from_address=from_number,
            body=body,
            keyword=keyword,
            provider=provider,
            provider_message_id=provider_message_id or None,
        )
        audit_append(
            actor=actor,
            action="inbound.received",
            object_type="inbound",
            object_id=inbound.pk,
            payload={
                "channel": "sms",
                "from_digest": address_digest(from_number),
                "to_digest": address_digest(to_number),
                "digest_key": digest_key_id(),
                "keyword": keyword,
                "contact": contact.pk if contact else None,
            },
        )
        evidence = {"inbound": inbound.pk, "keyword": keyword, "provider_message_id": provider_message_id}
        if keyword == SmsKeyword.OPT_OUT:
            sms_stop_unsubscribed_record(phone=from_number, inbound_id=inbound.pk)  # counted in reports
            suppression_add(
                channel="sms",
                address=from_number,
                reason=SuppressionReason.SMS_OPT_OUT,
                actor=actor,
                detail=evidence,
            )
        elif keyword == SmsKeyword.OPT_IN:
            suppression_lift_matching(
                channel="sms", address=from_number, reason=SuppressionReason.SMS_OPT_OUT, actor=actor
            )
        if contact is not None and keyword in (SmsKeyword.OPT_OUT, SmsKeyword.OPT_IN):
            consent_record(
                contact=contact,
                channel="sms",
                purpose=KEYWORD_PURPOSE,
                granted=keyword == SmsKeyword.OPT_IN,
                source=ConsentSource.SMS_KEYWORD,
                actor=actor,
                evidence=evidence,
            )
    return InboundOutcome(keyword, inbound)
