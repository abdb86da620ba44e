"""Broadcast endpoints: create, read with progress, cancel, pause, resume."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.services import Actor
from hub.api.idempotency import idempotent
from hub.api.problems import Problem, refused_problem
from hub.api.quota import quota_exceeded, quota_take
from hub.api.schema import problems
from hub.api.serializers import ChannelsField, StrictSerializer
from hub.api.views import IDEMPOTENCY_KEY, not_found, request_api_key
from hub.apikeys.models import ApiKey
from hub.broadcasts.errors import BroadcastQuotaExceeded, BroadcastRejected
from hub.broadcasts.models import Broadcast
from hub.broadcasts.selectors import broadcast_get, broadcast_progress
from hub.broadcasts.services import (
    AudienceRow,
    BroadcastRequest,
    broadcast_cost_at_create,
    broadcast_create,
)
from hub.broadcasts.steering import broadcast_cancel, broadcast_pause, broadcast_resume
from hub.messaging.models import Routing

MAX_RECIPIENTS_PER_REQUEST = 10_000


class AudienceRowSerializer(StrictSerializer):
    external_id = serializers.CharField(max_length=128)
    # DRF's metaclass pops declared fields, so this does not shadow Serializer.data at run time.
    data = serializers.DictField(  # type: ignore[assignment]
        required=False, default=dict, help_text="This recipient's template data (over the broadcast's)."
    )


class AttributeFilterSerializer(StrictSerializer):
    attributes = serializers.DictField(
        help_text="Contacts whose `attributes` match every key; a list value means any of its values.",
    )


class AudienceSerializer(StrictSerializer):
    min_properties = max_properties = 1  # exactly one kind of audience

    external_ids = serializers.ListField(
        child=serializers.CharField(max_length=128),
        required=False,
        allow_empty=False,
        max_length=MAX_RECIPIENTS_PER_REQUEST,
        help_text="Contacts by external id (no per-recipient data).",
    )
    recipients = AudienceRowSerializer(  # type: ignore[call-arg]  # DRF passes max_length to the list
        many=True,
        required=False,
        allow_empty=False,
        max_length=MAX_RECIPIENTS_PER_REQUEST,
        help_text="Contacts with their own data.",
    )
    filter = AttributeFilterSerializer(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        given = [k for k in ("external_ids", "recipients", "filter") if attrs.get(k) is not None]
        if len(given) != 1:
            raise serializers.ValidationError("Give exactly one of external_ids, recipients or filter.")
        return attrs


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "Explicit recipients with their own data, 600 a minute",
            value={
                "template": "offer.spring",
                "name": "Spring offer, wave 1",
                "audience": {
                    "recipients": [
                        {"external_id": "cust-1001", "data": {"first_name": "Ada"}},
                        {"external_id": "cust-1002", "data": {"first_name": "Alan"}},
                    ]
                },
                "channels": ["email"],
                "rate_per_minute": 600,
            },
            request_only=True,
        ),
        OpenApiExample(
            "Every gold contact in the north, tomorrow morning",
            value={
                "template": "offer.spring",
                "data": {"first_name": "customer"},
                "audience": {"filter": {"attributes": {"tier": "gold", "region": ["north", "north-east"]}}},
                "send_at": "2030-03-21T09:00:00Z",
            },
            request_only=True,
        ),
    ]
)
class BroadcastCreateSerializer(StrictSerializer):
    template = serializers.CharField(max_length=100, help_text="The template key.")
    name = serializers.CharField(max_length=200, required=False, default="")
    audience = AudienceSerializer()
    data = serializers.DictField(  # type: ignore[assignment]
        required=False, default=dict, help_text="Template data shared by every recipient."
    )
    channels = ChannelsField(required=False, default=list, max_length=3)
    routing = serializers.ChoiceField(choices=Routing.choices, default=Routing.FIRST)
    send_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    rate_per_minute = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        max_value=1_000_000,
        help_text="Messages per minute; empty: as fast as the workers go.",
    )
    reference = serializers.CharField(required=False, default="", allow_blank=True, max_length=200)


class BroadcastProgressSerializer(serializers.Serializer[Any]):
    total = serializers.IntegerField(help_text="Recipients to send to (valid rows).")
    rows = serializers.IntegerField(help_text="Rows in the audience, skipped ones included.")
    pending = serializers.IntegerField(help_text="Not yet released (rate, schedule or pause).")
    released = serializers.IntegerField()
    skipped = serializers.IntegerField(help_text="Duplicates, unknown contacts, invalid data.")
    queued = serializers.IntegerField(
        help_text="Messages on their way (accepted, queued, deferred, sending)."
    )
    sent = serializers.IntegerField()
    delivered = serializers.IntegerField()
    blocked = serializers.DictField(child=serializers.IntegerField(), help_text="Blocked messages by reason.")
    blocked_total = serializers.IntegerField()
    failed = serializers.IntegerField(help_text="Failed, undelivered or bounced messages.")
    cancelled = serializers.IntegerField()
    percent = serializers.IntegerField(min_value=0, max_value=100)
    done = serializers.BooleanField(help_text="Nothing more will be released or queued.")


class BroadcastSerializer(serializers.ModelSerializer[Broadcast]):
    template = serializers.CharField(source="template.key")
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Broadcast
        fields = (
            "id",
            "name",
            "template",
            "status",
            "audience_kind",
            "channels",
            "routing",
            "reference",
            "send_at",
            "rate_per_minute",
            "created_at",
            "started_at",
            "finished_at",
            "progress",
        )

    @extend_schema_field(BroadcastProgressSerializer)
    def get_progress(self, obj: Broadcast) -> dict[str, Any]:
        return broadcast_progress(broadcast=obj)


def _rejected(exc: BroadcastRejected, api_key: ApiKey | None = None) -> Problem:
    if isinstance(exc, BroadcastQuotaExceeded) and api_key is not None:
        return quota_exceeded(api_key=api_key, retry_after=exc.retry_after)
    return refused_problem(exc, title="Broadcast not accepted")


class BroadcastCreateView(APIView):
    @extend_schema(
        operation_id="broadcasts_create",
        request=BroadcastCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={202: BroadcastSerializer, **problems(400, 401, 403, 409, 415, 429)},
        summary="Send one template to many contacts",
        description=(
            "The audience is explicit external ids (up to 10,000 per request, optionally with "
            "per-recipient data) or a filter on contact attributes (resolved when it starts). "
            "Recipients are de-duplicated (the first row wins). Fan-out happens in batches at "
            "`rate_per_minute`, from `send_at` on. Follow it with GET; CSV audiences are uploaded "
            "in admin."
        ),
    )
    @idempotent
    def post(self, request: Request) -> Response:
        serializer = BroadcastCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        audience = data.pop("audience")
        api_key = request_api_key(request)
        rows = [AudienceRow(external_id=e) for e in audience.get("external_ids") or []] + [
            AudienceRow(external_id=r["external_id"], data=r["data"])
            for r in audience.get("recipients") or []
        ]
        attribute_filter = audience["filter"]["attributes"] if audience.get("filter") is not None else None
        cost = broadcast_cost_at_create(recipients=rows, attribute_filter=attribute_filter)
        with quota_take(api_key=api_key, cost=cost):
            try:
                broadcast = broadcast_create(
                    request=BroadcastRequest(**data, recipients=rows, attribute_filter=attribute_filter),
                    api_key=api_key,
                    actor=Actor.api_key(api_key.pk),
                )
            except BroadcastRejected as exc:
                raise _rejected(exc, api_key) from exc
        broadcast.refresh_from_db()
        return Response(BroadcastSerializer(broadcast).data, status=status.HTTP_202_ACCEPTED)


class BroadcastDetailView(APIView):
    @extend_schema(
        operation_id="broadcasts_retrieve",
        responses={200: BroadcastSerializer, **problems(401, 403, 404, 429)},
        summary="A broadcast and its live progress counts",
    )
    def get(self, request: Request, broadcast_id: UUID) -> Response:
        broadcast = broadcast_get(broadcast_id=broadcast_id, api_key=request_api_key(request))
        if broadcast is None:
            raise not_found("broadcast")
        return Response(BroadcastSerializer(broadcast).data)


def _steer_view(service: Any, operation: str, summary: str, description: str) -> type[APIView]:
    class SteerView(APIView):
        @extend_schema(
            operation_id=operation,
            request=None,
            responses={200: BroadcastSerializer, **problems(401, 403, 404, 409, 429)},
            summary=summary,
            description=description,
        )
        def post(self, request: Request, broadcast_id: UUID) -> Response:
            api_key = request_api_key(request)
            broadcast = broadcast_get(broadcast_id=broadcast_id, api_key=api_key)
            if broadcast is None:
                raise not_found("broadcast")
            try:
                service(broadcast=broadcast, actor=Actor.api_key(api_key.pk))
            except BroadcastRejected as exc:
                raise _rejected(exc) from exc
            broadcast.refresh_from_db()
            return Response(BroadcastSerializer(broadcast).data)

    SteerView.__name__ = f"{operation.title().replace('_', '')}View"
    return SteerView


BroadcastCancelView = _steer_view(
    broadcast_cancel,
    "broadcasts_cancel",
    "Cancel a broadcast",
    "Nothing more is released; released messages not yet handed to a provider are cancelled. "
    "409 `invalid_state` if it already completed or was cancelled.",
)
BroadcastPauseView = _steer_view(
    broadcast_pause,
    "broadcasts_pause",
    "Pause a broadcast",
    "Stops releasing recipients; messages already queued still go. 409 `invalid_state` unless running or scheduled.",
)
BroadcastResumeView = _steer_view(
    broadcast_resume,
    "broadcasts_resume",
    "Resume a paused broadcast",
    "Releasing carries on where the pause stopped; a broadcast paused before it started is "
    "`scheduled` again and starts at its `send_at`. 409 `invalid_state` unless paused.",
)
