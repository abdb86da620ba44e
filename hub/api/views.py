"""API views: parse, call a service or selector, serialize. No business rules here."""

from __future__ import annotations

from uuid import UUID

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.services import Actor
from hub.api.idempotency import idempotent
from hub.api.plain_input import notification_input
from hub.api.problems import Problem, refused_problem
from hub.api.quota import quota_take
from hub.api.schema import problems
from hub.api.serializers import MessageSerializer, NotificationCreateSerializer, NotificationSerializer
from hub.apikeys.models import ApiKey
from hub.messaging.intake import NotificationRejected, NotificationRequest, notification_accept
from hub.messaging.routing import NotCancellable, notification_cancel
from hub.messaging.selectors import message_get, notification_get

NOT_ACCEPTED = "Notification not accepted"


def request_api_key(request: Request) -> ApiKey:
    """The key that authenticated this request (every view here requires one)."""
    assert isinstance(request.auth, ApiKey)  # noqa: S101 - guaranteed by IsAuthenticated
    return request.auth


# What hub.api.idempotency accepts: 1 to 255 printable characters (str.isprintable; a header
# is Latin-1), without the surrounding spaces a server strips.
_PRINTABLE = r"\x21-\x7e\xa1-\xac\xae-\xff"
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {
        "type": "string",
        "minLength": 1,
        "maxLength": 255,
        "pattern": f"^[{_PRINTABLE}]([{_PRINTABLE} ]*[{_PRINTABLE}])?$",
    },
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Up to 255 characters (e.g. a new UUID), unique per request you mean. The same key and body within 24 h "
        "replay the first answer (header `Idempotent-Replayed: true`); the same key with another "
        "body is a 422 `idempotency_key_reused`; a duplicate while the first is still running "
        "is a 409 `idempotency_request_in_flight`."
    ),
)


def not_found(kind: str) -> Problem:
    return Problem(
        status_code=404,
        code="not_found",
        title="Not found",
        detail=f"No {kind} with this id is visible to this API key.",
    )


class NotificationCreateView(APIView):
    @extend_schema(
        operation_id="notifications_create",
        request=NotificationCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={202: NotificationSerializer, **problems(400, 401, 403, 409, 415, 429)},
        summary="Send a notification to one contact",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        # A plainly valid body is read without a serializer; the serializer judges the others.
        wanted = notification_input(request.data)
        if wanted is None:
            serializer = NotificationCreateSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            wanted = NotificationRequest(**serializer.validated_data)
        api_key = request_api_key(request)
        with quota_take(api_key=api_key, cost=1):
            try:
                notification = notification_accept(request=wanted, api_key=api_key)
            except NotificationRejected as exc:
                raise refused_problem(exc, title=NOT_ACCEPTED) from exc
        return Response(NotificationSerializer.represent(notification), status=status.HTTP_202_ACCEPTED)


class NotificationDetailView(APIView):
    @extend_schema(
        operation_id="notifications_retrieve",
        responses={200: NotificationSerializer, **problems(401, 403, 404, 429)},
        summary="A notification, its messages and their timelines",
    )
    def get(self, request: Request, notification_id: UUID) -> Response:
        notification = notification_get(notification_id=notification_id, api_key=request_api_key(request))
        if notification is None:
            raise not_found("notification")
        return Response(NotificationSerializer.represent(notification))


class MessageDetailView(APIView):
    @extend_schema(
        operation_id="messages_retrieve",
        responses={200: MessageSerializer, **problems(401, 403, 404, 429)},
        summary="One message and its timeline",
    )
    def get(self, request: Request, message_id: UUID) -> Response:
        message = message_get(message_id=message_id, api_key=request_api_key(request))
        if message is None:
            raise not_found("message")
        return Response(MessageSerializer.represent(message))


class NotificationCancelView(APIView):
    @extend_schema(
        operation_id="notifications_cancel",
        request=None,
        responses={200: NotificationSerializer, **problems(401, 403, 404, 409, 429)},
        summary="Cancel what of a notification has not been sent yet",
        description=(
            "Its accepted, queued and deferred (e.g. `send_at`) messages become `cancelled` and no "
            "fallback follows. 409 `not_cancellable` if every message was already handed to a "
            "provider or had ended."
        ),
    )
    def post(self, request: Request, notification_id: UUID) -> Response:
        api_key = request_api_key(request)
        notification = notification_get(notification_id=notification_id, api_key=api_key)
        if notification is None:
            raise not_found("notification")
        try:
            notification_cancel(notification=notification, actor=Actor.api_key(api_key.pk))
        except NotCancellable as exc:
            raise Problem(
                status_code=409, code="not_cancellable", title="Nothing left to cancel", detail=str(exc)
            ) from exc
        shown = notification_get(notification_id=notification_id, api_key=api_key)
        return Response(NotificationSerializer.represent(shown))
