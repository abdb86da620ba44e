"""``Idempotency-Key`` for POST endpoints, with Stripe's semantics, per API key.

* The first request with a key inserts an in-flight record (a unique constraint on
  (API key, key) lets exactly one concurrent duplicate win), then runs; its 2xx answer is
  stored in the same transaction as the work it did, and replayed to every later request
  with the same key and body (``Idempotent-Replayed: true``) for at least
  ``HUB_IDEMPOTENCY_TTL_HOURS``.
* The same key with a different body (or on another endpoint) → 422
  ``idempotency_key_reused``.
* A duplicate that arrives while the first is still running → 409
  ``idempotency_request_in_flight`` with ``Retry-After``.
* An error answer is not stored: the work rolled back, so the key is free to retry.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from hub.api.problems import Problem
from hub.apikeys.models import ApiKey, IdempotencyRecord, IdempotencyState

HEADER = "Idempotency-Key"
META_KEY = "HTTP_IDEMPOTENCY_KEY"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255

Handler = Callable[..., Response]


class _NotStored(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__("error answers are not stored")
        self.response = response


def request_fingerprint(request: Request) -> str:
    """Method, path and the body as canonical JSON: key order and spacing do not matter."""
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method}\n{request.path}\n{body}".encode()).hexdigest()


def _ttl() -> timedelta:
    return timedelta(hours=settings.HUB_IDEMPOTENCY_TTL_HOURS)


def _claim(
    *, api_key: ApiKey, key: str, request: Request, fingerprint: str
) -> tuple[IdempotencyRecord, bool]:
    """Insert the in-flight record, or return the one already there (False)."""
    for _ in range(3):
        now = timezone.now()
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    api_key=api_key,
                    key=key,
                    method=request.method or "",
                    path=request.path[:300],
                    fingerprint=fingerprint,
                    locked_at=now,
                )
            return record, True
        except IntegrityError:
            existing = IdempotencyRecord.objects.filter(api_key=api_key, key=key).first()
        if existing is None:
            continue  # released by its owner in between: try again
        if existing.created_at < now - _ttl():
            IdempotencyRecord.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
            continue
        stale = now - timedelta(seconds=settings.HUB_IDEMPOTENCY_LOCK_SECONDS)
        if (
            existing.state == IdempotencyState.IN_FLIGHT
            and existing.fingerprint == fingerprint
            and existing.locked_at < stale
            # The owner died without committing (its work rolled back): take the key over.
            and IdempotencyRecord.objects.filter(pk=existing.pk, locked_at=existing.locked_at).update(
                locked_at=now
            )
        ):
            existing.locked_at = now
            return existing, True
        return existing, False
    raise Problem(
        status_code=409,
        code="idempotency_request_in_flight",
        title="A request with this Idempotency-Key is in progress",
        detail="Another request with this Idempotency-Key is being handled; retry shortly.",
        headers={"Retry-After": "1"},
    )


def _answer_existing(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
        raise Problem(
            status_code=422,
            code="idempotency_key_reused",
            title="Idempotency-Key reused with a different request",
            detail=(
                "This Idempotency-Key was first used with a different request body or endpoint; "
                "use a new key for a new request."
            ),
            field=HEADER,
        )
    if record.state == IdempotencyState.IN_FLIGHT:
        raise Problem(
            status_code=409,
            code="idempotency_request_in_flight",
            title="A request with this Idempotency-Key is in progress",
            detail="The first request with this Idempotency-Key is still being handled; retry shortly.",
            headers={"Retry-After": "1"},
        )
    return Response(
        record.response_body,
        status=record.response_status or 200,
        content_type=record.response_content_type or None,
        headers={REPLAYED_HEADER: "true"},
    )


def _store(record: IdempotencyRecord, response: Response) -> None:
    body = json.loads(JSONRenderer().render(response.data)) if response.data is not None else None
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        state=IdempotencyState.DONE,
        response_status=response.status_code,
        response_body=body,
        response_content_type=response.content_type or "",
    )


def _release(record: IdempotencyRecord) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk, state=IdempotencyState.IN_FLIGHT).delete()


def idempotent(handler: Handler) -> Handler:
    """Decorate an APIView's ``post``: honours the ``Idempotency-Key`` header if given."""

    @functools.wraps(handler)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.META.get(META_KEY)  # request.headers would first copy every header
        if key is None:
            return handler(view, request, *args, **kwargs)
        key = key.strip()
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            raise Problem(
                status_code=400,
                code="invalid_idempotency_key",
                title="Invalid Idempotency-Key",
                detail=f"An Idempotency-Key is 1 to {MAX_KEY_LENGTH} printable characters.",
                field=HEADER,
            )
        api_key = request.auth
        assert isinstance(api_key, ApiKey)  # noqa: S101 - every view here requires a key
        fingerprint = request_fingerprint(request)
        record, owner = _claim(api_key=api_key, key=key, request=request, fingerprint=fingerprint)
        if not owner:
            return _answer_existing(record, fingerprint)
        try:
            with transaction.atomic():
                response = handler(view, request, *args, **kwargs)
                if not 200 <= response.status_code < 300:
                    raise _NotStored(response)
                _store(record, response)
        except _NotStored as not_stored:
            _release(record)
            return not_stored.response
        except BaseException:
            _release(record)
            raise
        return response

    return wrapper
