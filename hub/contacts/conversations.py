"""What support does with inbound messages: reply, link an unknown sender, simulate (sandbox).

A **reply** is an ordinary transactional notification of the ``support.reply`` template (one
required variable ``body``; ``subject`` for email), made by the one intake
(``hub.messaging.intake``) on the channel the person wrote on, to their contact, and decided
by compliance like any send. The template goes through maker-checker like every other one
(``seed_demo`` creates it; production installs create and approve it once, see
docs/operations.md), so what support can send is content compliance approved. Its notification
carries the reference ``conversation:<id>``, and ``inbound.replied`` names the staff member.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction

from audit.services import Actor, audit_append
from hub.contacts.inbound import InboundOutcome, sms_inbound_receive
from hub.contacts.models import Contact, Conversation, InboundMessage
from hub.messaging.intake import NotificationRejected, NotificationRequest, Origin, notifications_accept
from hub.messaging.models import Notification, Routing
from hub.providers.registry import channel_providers
from hub.providers.sandbox import SandboxProvider
from hub.refusals import Refused

SUPPORT_REPLY_TEMPLATE = "support.reply"
REPLY_REFERENCE_PREFIX = "conversation:"
SIMULATOR = "sandbox-simulator"
MAX_REPLY_CHARS = 1600


class ConversationRefused(Refused):
    """A reply, link or simulation that cannot be made (nothing was changed)."""


def conversation_reply(*, inbound: InboundMessage, body: str, user: Any, subject: str = "") -> Notification:
    """Reply to ``inbound`` on its channel, as ``user``. Raises ConversationRefused or the
    intake's NotificationRejected (e.g. no live ``support.reply`` template); writes nothing then."""
    body = body.strip()
    if inbound.contact_id is None:
        raise ConversationRefused(
            "unknown_contact", "Link this message to a contact before replying.", field="contact"
        )
    if not body:
        raise ConversationRefused("invalid_data", "Write the reply first.", field="body")
    if len(body) > MAX_REPLY_CHARS:
        raise ConversationRefused(
            "invalid_data", f"A reply is at most {MAX_REPLY_CHARS} characters.", field="body"
        )
    contact = Contact.objects.get(pk=inbound.contact_id)
    data = {"body": body}
    if inbound.channel == "email":
        data["subject"] = subject.strip() or _re(inbound.subject)
    request = NotificationRequest(
        template=SUPPORT_REPLY_TEMPLATE,
        to={"external_id": contact.external_id},
        data=data,
        channels=[inbound.channel],
        routing=Routing.FIRST,
        reference=f"{REPLY_REFERENCE_PREFIX}{inbound.conversation_id}",
    )
    origin = Origin("support_reply", {"inbound": inbound.pk, "user": user.pk})
    with transaction.atomic():
        (result,) = notifications_accept([request], api_key=None, origin=origin)
        if isinstance(result, NotificationRejected):
            if result.code in ("unknown_template", "template_not_live"):
                raise ConversationRefused(
                    result.code,
                    f"There is no live {SUPPORT_REPLY_TEMPLATE!r} template: compliance must approve "
                    "one before support can reply (docs/operations.md).",
                )
            raise result
        audit_append(
            actor=Actor.user(user.pk),
            action="inbound.replied",
            object_type="inbound",
            object_id=inbound.pk,
            payload={
                "conversation": inbound.conversation_id,
                "notification": str(result.pk),
                "channel": inbound.channel,
                "contact": contact.pk,
            },
        )
    return result


def _re(subject: str) -> str:
    subject = subject.strip()
    if not subject:
        return "Your message"
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"


def inbound_link_contact(*, inbound: InboundMessage, external_id: str, user: Any) -> Contact:
    """Link an unknown sender's message, its conversation and the conversation's other
    unlinked messages to the contact ``external_id``; later messages from that address land on
    that contact. Refused if the message already has a contact or there is no such contact."""
    with transaction.atomic():
        locked = InboundMessage.objects.select_for_update().get(pk=inbound.pk)
        if locked.contact_id is not None:
            raise ConversationRefused("already_linked", "This message already belongs to a contact.")
        contact = Contact.objects.filter(external_id=external_id.strip()).first()
        if contact is None:
            raise ConversationRefused(
                "unknown_contact", "No contact has that external id.", field="external_id"
            )
        linked = [locked.pk]
        if locked.conversation_id is not None:
            Conversation.objects.filter(pk=locked.conversation_id, contact__isnull=True).update(
                contact=contact
            )
            linked = list(
                InboundMessage.objects.filter(
                    conversation_id=locked.conversation_id, contact__isnull=True
                ).values_list("pk", flat=True)
            )
        InboundMessage.objects.filter(pk__in=linked).update(contact=contact)
        audit_append(
            actor=Actor.user(user.pk),
            action="inbound.linked",
            object_type="inbound",
            object_id=locked.pk,
            payload={"contact": contact.pk, "conversation": locked.conversation_id, "messages": linked},
        )
    return contact


def sms_in_sandbox() -> bool:
    """True when every SMS provider is the sandbox (nothing can really be sent or received)."""
    return all(isinstance(p, SandboxProvider) for p in channel_providers("sms"))


def inbound_simulate_sms(*, contact: Contact, body: str, user: Any) -> InboundOutcome:
    """Sandbox only: ``contact`` texts ``body`` to us, through the very service the Twilio
    inbound webhook calls (keywords act, the answered message and callbacks are found alike)."""
    if not sms_in_sandbox():
        raise ConversationRefused(
            "not_sandbox", "Inbound SMS can be simulated only while SMS is in sandbox mode."
        )
    if not contact.phone:
        raise ConversationRefused("no_phone", "This contact has no phone number.", field="contact")
    if not body.strip():
        raise ConversationRefused("invalid_data", "Write the message to simulate.", field="body")
    return sms_inbound_receive(
        from_number=contact.phone,
        to_number="",
        body=body.strip(),
        provider=SIMULATOR,
        provider_message_id=f"SIM{uuid.uuid4().hex}",
        simulated=True,
        actor=Actor.user(user.pk),
    )
