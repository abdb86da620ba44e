"""Changing the price table (audited), and the providers' reported prices: after a Twilio SMS
reaches its final status, a task (``fetch_message_price``) reads the Message resource's
``price`` through the twilio SDK and, where it has one, it replaces the table's estimate in
the rollups. Never in the webhook's request: the status callback carries no price."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import partial
from uuid import UUID

from django.db import transaction

from audit.services import Actor, audit_append
from hub.messaging.effects import AppliedChanges
from hub.messaging.models import EventKind, Message, MessageEvent
from hub.messaging.rollups import rollups_record_cost, segments_of
from hub.tracking.models import MessagePrice, Price
from hub.tracking.pricing import price_book

FINAL_PRICED = frozenset({"delivered", "undelivered", "failed"})


def _row(price: Price) -> dict[str, str]:
    return {
        "channel": price.channel,
        "country_prefix": price.country_prefix,
        "price": str(price.price),
        "unit": price.unit,
        "currency": price.currency,
    }


def price_save(*, price: Price, actor: Actor, changed: Sequence[str] = ()) -> Price:
    price.full_clean()
    with transaction.atomic():
        price.save()
        audit_append(
            actor=actor,
            action="price.saved",
            object_type="price",
            object_id=price.pk,
            payload={**_row(price), "changed": list(changed)},
        )
    return price


def price_delete(*, price: Price, actor: Actor) -> None:
    with transaction.atomic():
        payload = _row(price)
        pk = price.pk
        price.delete()
        audit_append(actor=actor, action="price.deleted", object_type="price", object_id=pk, payload=payload)


def prices_after_transition(applied: AppliedChanges) -> None:
    """Status-change effect: a Twilio message that reached a final status gets its price
    fetched, by a task enqueued when the change commits."""
    final = [c.message_id for c in applied.changes if c.to in FINAL_PRICED]
    if not final:
        return
    wanted = list(
        Message.objects.filter(id__in=final, channel="sms", provider__startswith="twilio")
        .exclude(provider_message_id="")
        .values_list("id", flat=True)
    )
    if not wanted:
        return
    from hub.tracking.tasks import fetch_message_price

    for message_id in wanted:
        transaction.on_commit(partial(fetch_message_price.delay, str(message_id)))


def message_price_record(*, message_id: UUID, price: str | None, currency: str) -> MessagePrice | None:
    """Store the provider's price for a message (Twilio reports it negative: money spent) and
    move the rollup's cost from the table's estimate to it. Once per message; None when the
    provider has no price (yet) or the message is unknown."""
    try:
        amount = abs(Decimal(price)) if price not in (None, "") else None
    except InvalidOperation:
        amount = None
    if amount is None:
        return None
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .filter(id=message_id)
            .values_list("channel", "to", "rendered")
            .first()
        )
        if message is None or MessagePrice.objects.filter(message_id=message_id).exists():
            return None
        channel, to, rendered = message
        sent_day = _sent_day(message_id)
        segments = segments_of(rendered) if channel == "sms" else 0
        estimate = price_book().cost(channel=channel, to=to, segments=segments)
        row = MessagePrice.objects.create(
            message_id=message_id, amount=amount, currency=currency.upper()[:3], estimate=estimate
        )
        if sent_day is not None:
            rollups_record_cost(message_id=message_id, delta=amount - estimate, day=sent_day)
    return row


def _sent_day(message_id: UUID) -> date | None:
    at = (
        MessageEvent.objects.filter(message_id=message_id, kind=EventKind.STATUS, status="sent")
        .order_by("occurred_at")
        .values_list("occurred_at", flat=True)
        .first()
    )
    return at.date() if at is not None else None


def message_price_fetch(message_id: UUID) -> bool:
    """Ask the message's provider for its price (no transaction open during the call) and
    record it. False when there is nothing to ask or no price; raises
    ``RetryableProviderError`` when the provider has not billed it yet (retry later)."""
    from hub.providers.errors import RetryableProviderError
    from hub.providers.registry import channel_providers

    found = Message.objects.filter(id=message_id).values_list("provider", "provider_message_id").first()
    if found is None or not found[1] or MessagePrice.objects.filter(message_id=message_id).exists():
        return False
    provider = next((p for p in channel_providers("sms") if p.name == found[0]), None)
    ask = getattr(provider, "message_price", None)
    if ask is None:
        return False
    price, currency = ask(found[1])
    if price is None:
        raise RetryableProviderError("The provider has not priced the message yet.", code="no_price_yet")
    return message_price_record(message_id=message_id, price=price, currency=currency) is not None
