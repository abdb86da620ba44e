"""Status callbacks: record events for an API key's endpoint with the status change (same
transaction, so none is lost), POST them signed, retry with exponential backoff for
``HUB_CALLBACK_RETRY_HOURS``, and suspend an endpoint that keeps failing.

No transaction is open during the HTTP call: a delivery is claimed with a conditional
update (a lease), posted, then its outcome is written.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta
from functools import partial
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from audit.services import Actor, audit_append
from hub.apikeys.models import ApiKey
from hub.callbacks.models import CallbackDelivery, CallbackEndpoint, DeliveryStatus, new_signing_secret
from hub.callbacks.safety import CallbackRefused, callback_target
from hub.callbacks.sender import CallbackTransportError, callback_post
from hub.callbacks.signing import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, callback_signature
from hub.contacts.models import InboundMessage
from hub.generations import GenerationCache, generation
from hub.messaging.effects import AppliedChanges
from hub.messaging.models import Message

logger = logging.getLogger("hub.callbacks")

LEASE_SECONDS = 120
MAX_BACKOFF_SECONDS = 3600.0


ENDPOINTS_GENERATION = "callback_endpoints"
# Whether any API key has an endpoint, per process while the generation holds (saving or
# deleting an endpoint bumps it in every process: ``CallbacksConfig.ready``).
_ANY_ENDPOINT: GenerationCache[bool] = GenerationCache(ENDPOINTS_GENERATION, size=1)


def _endpoints_exist() -> bool:
    """Whether any key has a callback endpoint: no query while the cached answer holds."""
    current = generation(ENDPOINTS_GENERATION)
    cached = _ANY_ENDPOINT.get("any", current)
    if cached is None:
        cached = CallbackEndpoint.objects.exists()
        _ANY_ENDPOINT.put("any", cached, current)
    return cached


def callbacks_after_transition(applied: AppliedChanges) -> None:
    """Status-change effect (registered by ``CallbacksConfig.ready``): one delivery per
    endpoint for this batch, written in the caller's transaction and sent once it commits.
    No query while no key has an endpoint (from the per-process cache, ``hub.generations``;
    without a shared cache, one query)."""
    if generation(ENDPOINTS_GENERATION) is not None and not _endpoints_exist():
        return
    occurred_at = applied.occurred_at
    by_id = {c.message_id: c for c in applied.changes}
    rows = Message.objects.filter(
        id__in=list(by_id), notification__api_key__callback_endpoint__isnull=False
    ).values_list(
        "id",
        "channel",
        "notification_id",
        "notification__reference",
        "notification__api_key__callback_endpoint__id",
    )
    events: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for message_id, channel, notification_id, reference, endpoint_id in rows:
        change = by_id[message_id]
        events[endpoint_id].append(
            {
                "type": "message.status",
                "message_id": str(message_id),
                "notification_id": str(notification_id),
                "reference": reference,
                "channel": channel,
                "status": change.to,
                "block_reason": str(change.fields.get("block_reason", "")),
                "error_code": str(change.fields.get("error_code", "")),
                "occurred_at": occurred_at.isoformat(),
            }
        )
    if not events:
        return
    now = timezone.now()
    deliveries = CallbackDelivery.objects.bulk_create(
        CallbackDelivery(endpoint_id=endpoint_id, events={"events": batch}, next_attempt_at=now)
        for endpoint_id, batch in events.items()
    )
    from hub.callbacks.tasks import deliver_callbacks

    ids = [str(d.id) for d in deliveries]
    transaction.on_commit(partial(deliver_callbacks.delay, ids))


def callbacks_inbound_received(inbound: InboundMessage) -> None:
    """``message.received`` for an inbound message, queued in the caller's transaction for the
    endpoint of the API key that sent the message it answers; none when it answers nothing we
    can find or that key has no endpoint (an unknown sender reaches only the admin inbox)."""
    if inbound.answers_id is None:
        return
    row = (
        Message.objects.filter(id=inbound.answers_id, notification__api_key__callback_endpoint__isnull=False)
        .values_list(
            "notification_id",
            "notification__reference",
            "notification__api_key__callback_endpoint__id",
        )
        .first()
    )
    if row is None:
        return
    notification_id, reference, endpoint_id = row
    contact = inbound.contact
    event = {
        "type": "message.received",
        "inbound_id": inbound.pk,
        "conversation_id": inbound.conversation_id,
        "channel": inbound.channel,
        "contact": {"external_id": contact.external_id} if contact is not None else None,
        "subject": inbound.subject,
        "body": inbound.body,
        "keyword": inbound.keyword,
        "in_reply_to": {
            "message_id": str(inbound.answers_id),
            "notification_id": str(notification_id),
            "reference": reference,
        },
        "occurred_at": inbound.received_at.isoformat(),
    }
    delivery = CallbackDelivery.objects.create(
        endpoint_id=endpoint_id, events={"events": [event]}, next_attempt_at=timezone.now()
    )
    from hub.callbacks.tasks import deliver_callbacks

    transaction.on_commit(partial(deliver_callbacks.delay, [str(delivery.id)]))


def callbacks_inbound_redact(*, inbound_ids: Sequence[int]) -> int:
    """Blank the body and subject kept in the ``message.received`` deliveries of these inbound
    messages (erasure, retention); returns how many deliveries changed. A pending delivery
    still goes out, without them."""
    wanted = set(inbound_ids)
    if not wanted:
        return 0
    changed = 0
    # Text containment works on every database; the events are then read to be sure.
    candidates = CallbackDelivery.objects.filter(events__icontains='"message.received"')
    for delivery in candidates.only("id", "events").iterator(chunk_size=500):
        events = delivery.events.get("events", [])
        hit = False
        for event in events:
            ours = event.get("type") == "message.received" and event.get("inbound_id") in wanted
            if ours and (event.get("body") or event.get("subject")):
                event["body"] = event["subject"] = ""
                hit = True
        if hit:
            CallbackDelivery.objects.filter(pk=delivery.pk).update(events={"events": events})
            changed += 1
    return changed


def callback_endpoint_set(*, api_key: ApiKey, url: str, actor: Actor) -> CallbackEndpoint:
    """Register (or change) the key's callback URL; a new endpoint gets a new signing secret.
    Changing the URL resumes a suspended endpoint."""
    with transaction.atomic():
        endpoint, created = CallbackEndpoint.objects.select_for_update().get_or_create(
            api_key=api_key, defaults={"url": url}
        )
        if not created:
            endpoint.url = url
            endpoint.suspended_at = None
            endpoint.consecutive_failures = 0
            endpoint.save(update_fields=["url", "suspended_at", "consecutive_failures", "updated_at"])
        audit_append(
            actor=actor,
            action="callback.endpoint_set",
            object_type="apikey",
            object_id=api_key.pk,
            payload={"created": created},
        )
    return endpoint


def callback_endpoint_rotate_secret(*, endpoint: CallbackEndpoint, actor: Actor) -> str:
    """A new signing secret, effective for the next delivery."""
    with transaction.atomic():
        endpoint.secret = new_signing_secret()
        endpoint.save(update_fields=["secret", "updated_at"])
        audit_append(
            actor=actor, action="callback.secret_rotated", object_type="apikey", object_id=endpoint.api_key_id
        )
    return endpoint.secret


def callback_endpoint_remove(*, api_key: ApiKey, actor: Actor) -> bool:
    with transaction.atomic():
        deleted, _ = CallbackEndpoint.objects.filter(api_key=api_key).delete()
        if deleted:
            audit_append(
                actor=actor, action="callback.endpoint_removed", object_type="apikey", object_id=api_key.pk
            )
    return bool(deleted)


def callback_endpoint_resume(*, endpoint: CallbackEndpoint, actor: Actor) -> int:
    """Lift a suspension; pending deliveries go out at once. Returns how many are pending."""
    now = timezone.now()
    with transaction.atomic():
        CallbackEndpoint.objects.filter(pk=endpoint.pk).update(suspended_at=None, consecutive_failures=0)
        pending = CallbackDelivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING).update(
            next_attempt_at=now
        )
        audit_append(
            actor=actor,
            action="callback.endpoint_resumed",
            object_type="apikey",
            object_id=endpoint.api_key_id,
        )
    return pending


def backoff_seconds(attempts: int) -> float:
    """30 s, 1 min, 2 min... capped at an hour, with jitter so endpoints are not hit in step."""
    ceiling = min(MAX_BACKOFF_SECONDS, 30.0 * 2 ** max(0, attempts - 1))
    return random.uniform(ceiling * 0.75, ceiling)  # noqa: S311 - jitter, not security


def _claim(delivery_id: UUID) -> CallbackDelivery | None:
    now = timezone.now()
    claimed = CallbackDelivery.objects.filter(
        id=delivery_id,
        status=DeliveryStatus.PENDING,
        next_attempt_at__lte=now,
        endpoint__suspended_at__isnull=True,
    ).update(next_attempt_at=now + timedelta(seconds=LEASE_SECONDS))
    if not claimed:
        return None
    return CallbackDelivery.objects.select_related("endpoint").get(id=delivery_id)


def _post(delivery: CallbackDelivery) -> tuple[int | None, str]:
    try:  # resolved and checked now, and the POST goes to that very address
        target = callback_target(delivery.endpoint.url)
    except CallbackRefused as refused:
        return None, f"refused: the URL {refused}"
    body = json.dumps(delivery.events, separators=(",", ":")).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Switchboard-Callbacks/1",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: callback_signature(secret=delivery.endpoint.secret, timestamp=timestamp, body=body),
        DELIVERY_HEADER: str(delivery.id),
    }
    try:
        status_code = callback_post(
            target=target, body=body, headers=headers, deadline_seconds=settings.HUB_CALLBACK_TIMEOUT_SECONDS
        )
    except CallbackTransportError as exc:
        return None, str(exc)
    if 200 <= status_code < 300:
        return status_code, ""
    return status_code, f"HTTP {status_code}"


def callbacks_deliver(*, delivery_ids: Sequence[UUID]) -> int:
    """POST each due, pending delivery once; returns how many succeeded."""
    succeeded = 0
    for delivery_id in delivery_ids:
        delivery = _claim(delivery_id)
        if delivery is None:
            continue
        status_code, error = _post(delivery)  # no transaction open
        _record(delivery, status_code=status_code, error=error)
        succeeded += not error
    return succeeded


def _record(delivery: CallbackDelivery, *, status_code: int | None, error: str) -> None:
    now = timezone.now()
    attempts = delivery.attempts + 1
    with transaction.atomic():
        if not error:
            CallbackDelivery.objects.filter(pk=delivery.pk).update(
                status=DeliveryStatus.SUCCEEDED,
                attempts=attempts,
                last_status_code=status_code,
                last_error="",
                delivered_at=now,
            )
            CallbackEndpoint.objects.filter(pk=delivery.endpoint_id).update(consecutive_failures=0)
            return
        give_up = now - delivery.created_at >= timedelta(hours=settings.HUB_CALLBACK_RETRY_HOURS)
        CallbackDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.ABANDONED if give_up else DeliveryStatus.PENDING,
            attempts=attempts,
            last_status_code=status_code,
            last_error=error[:300],
            next_attempt_at=now + timedelta(seconds=backoff_seconds(attempts)),
        )
        CallbackEndpoint.objects.filter(pk=delivery.endpoint_id).update(
            consecutive_failures=F("consecutive_failures") + 1
        )
        endpoint = CallbackEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
        if (
            endpoint.suspended_at is None
            and endpoint.consecutive_failures >= settings.HUB_CALLBACK_SUSPEND_AFTER
        ):
            endpoint.suspended_at = now
            endpoint.save(update_fields=["suspended_at", "updated_at"])
            logger.error(
                "ALERT callback endpoint of api key %s suspended after %s failed attempts in a row",
                endpoint.api_key_id,
                endpoint.consecutive_failures,
            )
            audit_append(
                actor=Actor.system(),
                action="callback.endpoint_suspended",
                object_type="apikey",
                object_id=endpoint.api_key_id,
                payload={"consecutive_failures": endpoint.consecutive_failures},
            )


def callbacks_due(*, limit: int = 1000) -> list[UUID]:
    """Pending deliveries whose time has come, on endpoints not suspended."""
    return list(
        CallbackDelivery.objects.filter(
            status=DeliveryStatus.PENDING,
            next_attempt_at__lte=timezone.now(),
            endpoint__suspended_at__isnull=True,
        )
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:limit]
    )
