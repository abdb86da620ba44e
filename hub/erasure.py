"""Erasure (right to be forgotten): remove a person's personal data everywhere the hub keeps
it, keep them suppressed by hash only, and record that it happened, without their data.

It spans contacts, messaging and the sandbox outbox, so it lives above those apps.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from more_itertools import chunked

from audit.digests import AddressDigest, address_digest_keyed, address_digests
from audit.services import Actor, audit_append
from hub.callbacks.services import callbacks_inbound_redact
from hub.contacts.models import Contact, InboundMessage, Suppression, SuppressionReason
from hub.messaging.lifecycle import Change, messages_transition
from hub.messaging.models import BlockReason, Message, Notification
from hub.messaging.models import MessageStatus as S
from hub.providers.models import SandboxOutboxEntry
from hub.tracking.privacy import tracking_erase

# Messages not yet handed to a provider: stopped, blocked as erased.
_STOPPABLE = (S.ACCEPTED, S.QUEUED, S.DEFERRED)
# Ids a statement names at most: PostgreSQL takes 65,535 bound parameters a statement, and a
# contact may have had more messages than that.
ERASURE_CHUNK = 5000


@dataclass(frozen=True)
class ErasureReport:
    notifications: int
    messages: int
    stopped: int
    suppressions: int


def contact_erase(*, contact: Contact, actor: Actor) -> ErasureReport:
    """Erase one contact. On return: the contact row, its devices and consent ledger are gone;
    its notifications and messages keep their status and timeline but no address, data or
    rendered content; messages not yet sent are blocked (``erased``); its email and phone stay
    suppressed by hash only (so a stale import cannot re-contact them); the audit trail holds
    one ``contact.erased`` record with counts and hashes, and still verifies."""
    addresses = {("email", contact.email), ("sms", contact.phone)} - {("email", ""), ("sms", "")}
    raw = {address for _, address in addresses}
    with transaction.atomic():
        locked = Contact.objects.select_for_update().get(pk=contact.pk)
        notifications = Notification.objects.filter(contact=locked)
        messages = Message.objects.filter(Q(notification__contact=locked) | Q(to__in=raw))
        pending = list(messages.filter(status__in=_STOPPABLE).values_list("id", flat=True))
        for part in chunked(pending, ERASURE_CHUNK):
            messages_transition(
                [Change(i, S.BLOCKED, {"block_reason": BlockReason.ERASED}) for i in part],
                actor=actor,
                source="erasure",
            )
        message_ids = [str(i) for i in messages.values_list("id", flat=True)]
        message_count = messages.update(to="", rendered={}, error_message="")
        notification_count = notifications.update(to={}, data={})
        for named in chunked(message_ids, ERASURE_CHUNK):
            tracking_erase(message_ids=named)  # links, clicks, opens, conversions
            SandboxOutboxEntry.objects.filter(message_id__in=named).update(to="", content={})
            Notification.objects.filter(messages__id__in=named).update(to={}, data={})
        inbound = InboundMessage.objects.filter(Q(contact=locked) | Q(from_address__in=raw))
        callbacks_inbound_redact(inbound_ids=list(inbound.values_list("pk", flat=True)))
        inbound.update(from_address="", subject="", body="")
        digests = _suppress_by_hash(addresses)
        locked.delete()  # devices and consent entries go with it
        audit_append(
            actor=actor,
            action="contact.erased",
            object_type="contact",
            object_id=contact.pk,
            payload={
                "notifications": notification_count,
                "messages": message_count,
                "stopped": len(pending),
                "suppressed": sorted(f"{channel}:{keyed.digest}" for channel, keyed in digests),
                "digest_key": next(iter(digests))[1].key_id if digests else "",
            },
        )
    return ErasureReport(notification_count, message_count, len(pending), len(digests))


def _suppress_by_hash(addresses: set[tuple[str, str]]) -> list[tuple[str, AddressDigest]]:
    """Every address stays suppressed, readable by nobody: its suppressions (under any digest
    key) lose the address and move to the newest key, as the address will never be seen again
    to re-digest them; an erasure suppression (hash only) is added where none is active."""
    digests = []
    for channel, address in addresses:
        keyed = address_digest_keyed(address)
        rows = Suppression.objects.filter(channel=channel, address_hash__in=address_digests(address))
        rows.update(address="", address_hash=keyed.digest, key_id=keyed.key_id)
        if not rows.filter(lifted_at__isnull=True).exists():
            Suppression.objects.create(
                channel=channel,
                address="",
                address_hash=keyed.digest,
                key_id=keyed.key_id,
                reason=SuppressionReason.ERASURE,
            )
        digests.append((channel, keyed))
    return digests
