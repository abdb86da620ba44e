"""``POST /api/v1/notifications/batch``: up to 1,000 notifications in one request.

Each item is shaped like a single ``POST /api/v1/notifications`` body. A body that breaks the
schema anywhere (an unknown key, a value of the wrong type, more than 1,000 items) is refused
whole with a 400, as the single endpoint refuses it, its errors naming ``notifications.<i>``.
Otherwise the answer is a 207 with one result per item, in order: the notification as the
single endpoint answers it, or the problem that refused that item alone (a 422 or 403 one: an
unknown template or contact, data the template cannot use, a phone number not valid for its
country, a template the key's scopes do not allow). A refused item never stops the others.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import (
    OpenApiExample,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
)
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.api.idempotency import idempotent
from hub.api.plain_input import notification_input, plain_batch
from hub.api.problems import flatten_errors, problem_body_for, refused_problem, unprocessable
from hub.api.quota import quota_take
from hub.api.schema import ProblemSerializer, problems
from hub.api.serializers import NotificationCreateSerializer, NotificationSerializer, StrictSerializer
from hub.api.views import IDEMPOTENCY_KEY, NOT_ACCEPTED, request_api_key
from hub.messaging.intake import NotificationRejected, NotificationRequest, notifications_accept

MAX_ITEMS = 1000
MULTI_STATUS = 207


@extend_schema_field(
    PolymorphicProxySerializer(
        component_name="NotificationBatchResult",
        serializers=[NotificationSerializer, ProblemSerializer],
        resource_type_field_name=None,
    )
)
class BatchResultField(serializers.JSONField):
    """One item's result: the notification, or the problem that refused it."""


class NotificationBatchSerializer(StrictSerializer):
    """Up to 1,000 notifications, each shaped like the body of POST /api/v1/notifications."""

    notifications = NotificationCreateSerializer(  # type: ignore[call-arg]  # ListSerializer's kwargs
        many=True,
        min_length=1,
        max_length=MAX_ITEMS,
        help_text=f"1 to {MAX_ITEMS} notifications, each as the body of POST /api/v1/notifications.",
    )


class NotificationBatchAnswerSerializer(serializers.Serializer[Any]):
    """One result per item, in the order sent."""

    accepted = serializers.IntegerField(help_text="How many items were accepted.")
    rejected = serializers.IntegerField(help_text="How many items were refused (each with its problem).")
    results = serializers.ListField(
        child=BatchResultField(),
        help_text="One per item, in the order sent: the notification (as POST /api/v1/notifications "
        "answers it) or a problem object (`status`, `code`, `errors`) for that item alone.",
    )


def _items_checked(request: Request) -> tuple[list[NotificationRequest | None], dict[int, dict[str, Any]]]:
    """The valid items as requests (None in place of a refused one) and the problem of each
    item refused on its meaning. Raises ValidationError (a 400) if the body breaks the schema.
    A body whose every item is plainly valid is read without serializers (``plain_input``);
    any other is judged by the serializers, item by item, as it always was."""
    plain = _plainly_valid(request.data)
    if plain is not None:
        checked: list[NotificationRequest | None] = list(plain)
        return checked, {}
    batch = NotificationBatchSerializer(data=request.data)
    if batch.is_valid():
        items = batch.validated_data["notifications"]
        return [NotificationRequest(**item) for item in items], {}
    errors = dict(batch.errors)
    data = batch.initial_data
    items = data.get("notifications") if isinstance(data, dict) else None
    item_errors = _per_item(errors.get("notifications"), len(items)) if isinstance(items, list) else None
    if items is not None and item_errors is not None and set(errors) == {"notifications"}:
        errors["notifications"] = item_errors  # named notifications.<i> in the problem
        if all(unprocessable(flatten_errors(e)) for e in item_errors if e):
            return _items_refused_alone(items, item_errors, request)
    raise exceptions.ValidationError(errors)


def _plainly_valid(body: Any) -> list[NotificationRequest] | None:
    """The requests of a body that is ``{"notifications": [...]}`` with 1 to MAX_ITEMS items,
    each plainly valid; None when the serializers must judge it."""
    return plain_batch(body, key="notifications", limit=MAX_ITEMS, read=notification_input)


def _per_item(errors: Any, count: int) -> list[Any] | None:
    """A list's errors as one entry per item ({} for a valid one), or None if they are about
    the list itself (not a list, empty, too long). DRF gives them as a list or by index."""
    if isinstance(errors, list) and len(errors) == count and all(isinstance(e, dict) for e in errors):
        return errors
    if isinstance(errors, dict) and errors and all(isinstance(k, int) for k in errors):
        return [errors.get(i, {}) for i in range(count)]
    return None


def _items_refused_alone(
    items: list[Any], item_errors: list[Any], request: Request
) -> tuple[list[NotificationRequest | None], dict[int, dict[str, Any]]]:
    """Every error is about an item's meaning (e.g. a phone number not valid for its country):
    those items are refused alone, each with its 422; the others are valid on their own."""
    requests: list[NotificationRequest | None] = []
    refused: dict[int, dict[str, Any]] = {}
    for index, (item, item_error) in enumerate(zip(items, item_errors, strict=True)):
        if item_error:
            refused[index] = problem_body_for(
                exceptions.ValidationError(item_error), instance=_instance(request, index)
            )
            requests.append(None)
        else:
            one = NotificationCreateSerializer(data=item)
            one.is_valid(raise_exception=True)
            requests.append(NotificationRequest(**one.validated_data))
    return requests, refused


def _instance(request: Request, index: int) -> str:
    return f"{request.path}#/notifications/{index}"


class NotificationBatchView(APIView):
    @extend_schema(
        operation_id="notifications_batch_create",
        request=NotificationBatchSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={MULTI_STATUS: NotificationBatchAnswerSerializer, **problems(400, 401, 403, 409, 415, 429)},
        summary="Send up to 1,000 notifications in one request",
        description=(
            "Each item is a `POST /api/v1/notifications` body. Answers 207 with one result per "
            "item, in order: the notification, or the problem (`status` 422 or 403) that refused "
            "that item alone; a refused item never stops the others. A body that breaks the schema "
            "anywhere is a 400 naming `notifications.<i>`. The daily quota counts each accepted "
            "item; an `Idempotency-Key` covers the whole request."
        ),
        examples=[
            OpenApiExample(
                "Two orders shipped",
                value={
                    "notifications": [
                        {
                            "template": "order.shipped",
                            "to": {"external_id": "cust-1001"},
                            "data": {"order_number": "A-1042", "first_name": "Ada"},
                        },
                        {
                            "template": "order.shipped",
                            "to": {"phone": "+447911123456"},
                            "data": {"order_number": "A-1043", "first_name": "Bob"},
                        },
                    ]
                },
                request_only=True,
            )
        ],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        api_key = request_api_key(request)
        requests, results = _items_checked(request)
        valid = [r for r in requests if r is not None]
        with quota_take(api_key=api_key, cost=len(valid)) as taken:
            accepted = iter(notifications_accept(valid, api_key=api_key))
            refused = 0
            for index, item in enumerate(requests):
                if item is None:
                    continue
                result = next(accepted)
                if isinstance(result, NotificationRejected):
                    refused += 1
                    problem = refused_problem(result, title=NOT_ACCEPTED)
                    results[index] = problem_body_for(problem, instance=_instance(request, index))
                else:
                    results[index] = NotificationSerializer.represent(result)
            taken.unused(refused)
        ordered = [results[i] for i in range(len(requests))]
        body = {
            "accepted": len(valid) - refused,
            "rejected": len(requests) - len(valid) + refused,
            "results": ordered,
        }
        return Response(body, status=MULTI_STATUS)
