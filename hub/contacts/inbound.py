"""Inbound messages: every SMS and email a person sends us lands on a conversation.

One service for every door (the Twilio inbound webhook, SendGrid Inbound Parse, the sandbox
simulator in admin): ``inbound_receive``. It

- finds the contact by the sender's address (or through the conversation, once support has
  linked an unknown sender to a contact; or through the message it answers);
- finds the outbound message it answers: for SMS the latest message handed to a provider for
  that number, from the number written to (or from our default sender); for email the message
  whose Message-ID the reply's In-Reply-To / References header names, if that message went to
  this very address (a forged header naming someone else's message links nothing);
- keeps the message on the conversation of that channel and address (known by its digest);
  a conversation with no contact is the admin inbox;
- for SMS, acts on keywords: an opt-out withdraws the contact's SMS consent and suppresses the
  number (so nothing more is sent to it, whoever it belongs to); an opt-in lifts that
  suppression and grants consent again; help and other replies are only recorded;
- queues ``message.received`` for the callback of the API key that sent the answered message.

A provider redelivering the same message (same provider message id) changes nothing the
second time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from audit.digests import address_digest, address_digests, digest_key_id
from audit.services import Actor, audit_append
from hub.contacts.keywords import SmsKeyword, keyword_classify
from hub.contacts.models import (
    ConsentSource,
    Contact,
    Conversation,
    InboundMessage,
    SuppressionReason,
)
from hub.contacts.services import consent_record, suppression_add, suppression_lift_matching
from hub.messaging.models import Message
from hub.messaging.reports import sms_stop_unsubscribed_record

# Opt-outs and opt-ins by keyword concern marketing: transactional SMS never needs consent,
# but the suppression an opt-out writes blocks every SMS to the number until START.
KEYWORD_PURPOSE = "marketing"


@dataclass(frozen=True)
class InboundRequest:
    """One message a person sent, as a door read it.

    ``references`` (email only): our message ids named by its In-Reply-To and References
    headers, most relevant first (``hub.providers.base.email_message_ids_in``)."""

    channel: str
    from_address: str
    to_address: str
    body: str
    provider: str
    provider_message_id: str
    subject: str = ""
    references: Sequence[str] = field(default_factory=tuple)
    simulated: bool = False
    # False when the sender's address is not authenticated (an email failing both SPF and
    # DKIM): it then names no contact and answers no message, and lands in the inbox.
    sender_verified: bool = True


@dataclass(frozen=True)
class InboundOutcome:
    """What the message was: its keyword, the row kept, and whether it was a replay."""

    keyword: SmsKeyword
    inbound: InboundMessage
    duplicate: bool = False


def sms_inbound_receive(
    *,
    from_number: str,
    to_number: str,
    body: str,
    provider: str,
    provider_message_id: str,
    simulated: bool = False,
    actor: Actor | None = None,
) -> InboundOutcome:
    """Record one inbound SMS and apply its keyword. Safe to call again for the same message."""
    return inbound_receive(
        InboundRequest(
            channel="sms",
            from_address=from_number,
            to_address=to_number,
            body=body,
            provider=provider,
            provider_message_id=provider_message_id,
            simulated=simulated,
        ),
        actor=actor,
    )


def inbound_receive(request: InboundRequest, *, actor: Actor | None = None) -> InboundOutcome:
    """Record one inbound message on its conversation. Safe to call again for the same message.
    ``actor``: who the audit names (the provider unless given: the simulator names the user)."""
    keyword = keyword_classify(request.body) if request.channel == "sms" else SmsKeyword.NONE
    actor = actor or Actor.provider(request.provider)
    with transaction.atomic():
        existing = _existing(request.provider_message_id)
        if existing is not None:
            return InboundOutcome(SmsKeyword(existing.keyword), existing, duplicate=True)
        answers = inbound_answered_message(request) if request.sender_verified else None
        conversation = _conversation(request.channel, request.from_address)
        contact = (
            (
                _contact_by_address(request.channel, request.from_address)
                or conversation.contact
                or (answers.notification.contact if answers is not None else None)
            )
            if request.sender_verified
            else None
        )
        if conversation.contact_id is None and contact is not None:
            conversation.contact = contact
        conversation.last_inbound_at = timezone.now()
        conversation.save(update_fields=["contact", "last_inbound_at"])
        try:
            with transaction.atomic():  # a concurrent redelivery of the same message
                inbound = InboundMessage.objects.create(
                    contact=contact,
                    conversation=conversation,
                    answers=answers,
                    channel=request.channel,
                    from_address=request.from_address,
                    subject=request.subject[:500],
                    body=request.body,
                    keyword=keyword,
                    provider=request.provider,
                    provider_message_id=request.provider_message_id or None,
                    simulated=request.simulated,
                )
        except IntegrityError:
            existing = _existing(request.provider_message_id)
            if existing is None:
                raise
            return InboundOutcome(SmsKeyword(existing.keyword), existing, duplicate=True)
        audit_append(
            actor=actor,
            action="inbound.received",
            object_type="inbound",
            object_id=inbound.pk,
            payload={
                "channel": request.channel,
                "from_digest": address_digest(request.from_address),
                "to_digest": address_digest(request.to_address),
                "digest_key": digest_key_id(),
                "keyword": keyword,
                "contact": contact.pk if contact else None,
                "conversation": conversation.pk,
                "answers": str(answers.pk) if answers is not None else None,
                "simulated": request.simulated,
                "sender_verified": request.sender_verified,
            },
        )
        if request.channel == "sms":
            _keyword_apply(keyword, inbound, contact, request, actor)
        from hub.callbacks.services import callbacks_inbound_received

        callbacks_inbound_received(inbound)
    return InboundOutcome(keyword, inbound)


def inbound_answered_message(request: InboundRequest) -> Message | None:
    """The outbound message an inbound one answers, or None (see the module's docstring)."""
    if request.channel == "sms":
        return (
            Message.objects.filter(channel="sms", to=request.from_address)
            .exclude(provider_message_id="")
            .filter(Q(notification__sms_sender=request.to_address) | Q(notification__sms_sender=""))
            .select_related("notification__contact")
            .order_by("-created_at", "-id")
            .first()
        )
    ids = [_uuid(r) for r in request.references]
    found = {
        m.pk: m
        for m in Message.objects.filter(
            id__in=[i for i in ids if i is not None], channel="email"
        ).select_related("notification__contact")
    }
    for message_id in ids:
        message = found.get(message_id) if message_id is not None else None
        if message is not None and message.to.lower() == request.from_address.lower():
            return message
    return None


def _uuid(value: str) -> UUID | None:
    try:
        return UUID(value)
    except ValueError:
        return None


def _existing(provider_message_id: str) -> InboundMessage | None:
    if not provider_message_id:
        return None
    return InboundMessage.objects.select_for_update().filter(provider_message_id=provider_message_id).first()


def _contact_by_address(channel: str, address: str) -> Contact | None:
    if not address:
        return None
    if channel == "sms":
        return Contact.objects.filter(phone=address).order_by("pk").first()
    return Contact.objects.filter(email__iexact=address).order_by("pk").first()


def _conversation(channel: str, address: str) -> Conversation:
    """The conversation of this channel and address (found under any digest key), locked."""
    known = (
        Conversation.objects.select_for_update(of=("self",))
        .filter(channel=channel, address_hash__in=address_digests(address.lower()))
        .select_related("contact")
        .first()
    )
    if known is not None:
        return known
    conversation, _ = Conversation.objects.get_or_create(
        channel=channel, address_hash=address_digest(address.lower())
    )
    return conversation


def _keyword_apply(
    keyword: SmsKeyword,
    inbound: InboundMessage,
    contact: Contact | None,
    request: InboundRequest,
    actor: Actor,
) -> None:
    evidence = {"inbound": inbound.pk, "keyword": keyword, "provider_message_id": request.provider_message_id}
    if keyword == SmsKeyword.OPT_OUT:
        # Counted in the reports as an unsubscribe of the last SMS sent to this number.
        sms_stop_unsubscribed_record(phone=request.from_address, inbound_id=inbound.pk)
        suppression_add(
            channel="sms",
            address=request.from_address,
            reason=SuppressionReason.SMS_OPT_OUT,
            actor=actor,
            detail=evidence,
        )
    elif keyword == SmsKeyword.OPT_IN:
        suppression_lift_matching(
            channel="sms", address=request.from_address, reason=SuppressionReason.SMS_OPT_OUT, actor=actor
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
