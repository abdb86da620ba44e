"""Events in and journey runs (SPEC §4): ``POST /api/v1/events``, ``POST /api/v1/events/batch``,
``GET /api/v1/journey-runs/{id}``, ``POST /api/v1/journey-runs/{id}/cancel``. Scope ``events``.

A run is visible to the API key whose event started it (as a notification is to its key).
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.services import Actor
from hub.api.plain_input import plain_batch
from hub.api.problems import Problem, problem_exception_handler, refused_problem
from hub.api.schema import problems
from hub.api.serializers import StrictSerializer
from hub.api.views import not_found, request_api_key
from hub.journeys.events import (
    EventInput,
    EventOutcome,
    EventRejected,
    RunNotCancellable,
    event_record,
    events_record,
    journey_run_cancel,
)
from hub.journeys.models import JourneyRun, JourneyRunEntry
from hub.journeys.selectors import journey_run_get, journey_run_messages

EVENTS = "events"
BATCH_MAX = 1000
EVENT_NAME = r"^[A-Za-z0-9_.:-]{1,100}$"


class EventContactSerializer(StrictSerializer):
    external_id = serializers.CharField(max_length=128, help_text="The contact's `external_id`.")


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A cart was abandoned",
            value={
                "name": "cart.abandoned",
                "contact": {"external_id": "cust-1"},
                "data": {"cart_total": 42, "items": 3},
                "occurred_at": "2026-05-01T12:00:00Z",
                "id": "evt_01HX",
            },
            request_only=True,
        )
    ]
)
class EventCreateSerializer(StrictSerializer):
    name = serializers.RegexField(EVENT_NAME, help_text="e.g. `cart.abandoned`.")
    contact = EventContactSerializer()
    # DRF's metaclass pops declared fields, so this does not shadow Serializer.data at run time.
    data = serializers.DictField(  # type: ignore[assignment]
        required=False, default=dict, help_text="Free JSON about the event."
    )
    occurred_at = serializers.DateTimeField(required=False, help_text="When it happened (default: now).")
    id = serializers.CharField(
        required=False,
        max_length=200,
        help_text="Your event id: a repeated id is accepted once (per API key).",
    )

    def to_event(self) -> EventInput:
        return event_input(self.validated_data)


def event_input(data: Any) -> EventInput:
    """A validated event body as the journeys' intake takes it."""
    return EventInput(
        name=data["name"],
        contact=data["contact"]["external_id"],
        data=data.get("data") or {},
        occurred_at=data.get("occurred_at"),
        id=data.get("id", ""),
    )


# What a plainly valid event is, checked without a serializer (a fifth of the CPU of a batch
# went to a DRF serializer per event): the same rules, narrower (a value DRF would trim or
# coerce is left to it). Anything else goes to the serializers, which name what is wrong.
_NAME = re.compile(EVENT_NAME.strip("^$"))
_UNSAFE = re.compile("[\x00\ud800-\udfff]")  # DRF's CharField refuses null and surrogate characters
_EVENT_KEYS = frozenset(("name", "contact", "data", "occurred_at", "id"))
_OCCURRED_AT = serializers.DateTimeField()


def _plain_text(value: Any, max_length: int) -> bool:
    return (
        type(value) is str
        and 0 < len(value) <= max_length
        and value == value.strip()
        and not _UNSAFE.search(value)
    )


def plain_event(body: Any) -> EventInput | None:
    """``body`` as an event if it is plainly valid (``EventCreateSerializer`` would take it
    as it is), else None: the serializer then judges it."""
    if type(body) is not dict or not body.keys() <= _EVENT_KEYS:
        return None
    name, contact, data = body.get("name"), body.get("contact"), body.get("data", {})
    if type(name) is not str or not _NAME.fullmatch(name) or type(data) is not dict:
        return None
    if type(contact) is not dict or contact.keys() != {"external_id"}:
        return None
    if not _plain_text(contact["external_id"], 128) or ("id" in body and not _plain_text(body["id"], 200)):
        return None
    occurred_at = None
    if "occurred_at" in body:
        if type(body["occurred_at"]) is not str:
            return None
        try:
            occurred_at = _OCCURRED_AT.to_internal_value(body["occurred_at"])
        except serializers.ValidationError:
            return None
    return EventInput(
        name=name,
        contact=contact["external_id"],
        data=data,
        occurred_at=occurred_at,
        id=body.get("id", ""),
    )


def plain_events(body: Any) -> list[EventInput] | None:
    """A batch body's events if every one is plainly valid (``plain_event``), else None."""
    return plain_batch(body, key="events", limit=BATCH_MAX, read=plain_event)


class EventBatchSerializer(StrictSerializer):
    events = EventCreateSerializer(  # type: ignore[call-arg]  # ListSerializer's kwargs
        many=True,
        min_length=1,
        max_length=BATCH_MAX,
        help_text=f"1 to {BATCH_MAX} events, each as the body of POST /api/v1/events.",
    )


class RunLineSerializer(serializers.Serializer[Any]):
    run = serializers.UUIDField()
    journey = serializers.CharField()
    version = serializers.IntegerField()
    action = serializers.ChoiceField(choices=["started", "resumed", "exited", "converted"])
    status = serializers.CharField()
    step = serializers.CharField()


class EventResultSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField(help_text="The hub's id of the event.")
    event_id = serializers.CharField(help_text="Your id, if you gave one.")
    name = serializers.CharField()
    contact = serializers.CharField(help_text="The contact's external_id.")
    occurred_at = serializers.DateTimeField()
    replayed = serializers.BooleanField(
        help_text="True when this id was accepted before: nothing changed now."
    )
    runs = RunLineSerializer(many=True, help_text="The runs it started, resumed, ended or converted.")


class EventBatchResultSerializer(serializers.Serializer[Any]):
    results = serializers.ListField(
        child=serializers.DictField(),
        help_text="One per event, in order: the event's result, or a problem object.",
    )


class RunEntrySerializer(serializers.ModelSerializer[JourneyRunEntry]):
    class Meta:
        model = JourneyRunEntry
        fields = ("at", "kind", "step", "detail")


class RunMessageSerializer(serializers.Serializer[Any]):
    step = serializers.CharField()
    notification = serializers.UUIDField()
    message = serializers.UUIDField()
    status = serializers.CharField(help_text="The message's status now.")


class JourneyRunSerializer(serializers.ModelSerializer[JourneyRun]):
    journey = serializers.CharField(source="journey.key")
    version = serializers.IntegerField(source="version.number")
    contact = serializers.CharField(source="contact.external_id")
    messages = serializers.SerializerMethodField()
    timeline = RunEntrySerializer(many=True)

    @extend_schema_field(RunMessageSerializer(many=True))
    def get_messages(self, run: JourneyRun) -> list[dict[str, Any]]:
        return RunMessageSerializer(journey_run_messages(run), many=True).data  # type: ignore[return-value]

    class Meta:
        model = JourneyRun
        fields = (
            "id",
            "journey",
            "version",
            "contact",
            "status",
            "step",
            "wake_at",
            "waiting_for",
            "exit_event",
            "converted_at",
            "created_at",
            "ended_at",
            "messages",
            "timeline",
        )


def _event_body(outcome: EventOutcome) -> dict[str, Any]:
    event = outcome.event
    return {
        "id": str(event.id),
        "event_id": event.event_id,
        "name": event.name,
        "contact": event.contact.external_id,
        "occurred_at": event.occurred_at.isoformat(),
        "replayed": outcome.replayed,
        "runs": event.result,
    }


EVENT_REFUSED = "Event not accepted"


def _record(event: EventInput, request: Request) -> dict[str, Any]:
    try:
        outcome = event_record(item=event, api_key=request_api_key(request))
    except EventRejected as exc:
        raise refused_problem(exc, title=EVENT_REFUSED) from exc
    return _event_body(outcome)


class EventCreateView(APIView):
    required_capability = EVENTS

    @extend_schema(
        operation_id="events_create",
        request=EventCreateSerializer,
        responses={202: EventResultSerializer, **problems(400, 401, 403, 415, 422, 429)},
        summary="Record an event about a contact (starts, resumes and ends journey runs)",
        description=(
            "Starts the journeys its name triggers, resumes runs waiting for it, ends runs that exit "
            "on it and converts runs whose goal it is. A repeated `id` is answered as the first time "
            "(`replayed: true`) and changes nothing. 422 `unknown_contact` for an unknown contact, "
            "`event_id_reused` for an id used for another event. Needs the `events` scope."
        ),
    )
    def post(self, request: Request) -> Response:
        item = plain_event(request.data)
        if item is None:
            serializer = EventCreateSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            item = serializer.to_event()
        return Response(_record(item, request), status=status.HTTP_202_ACCEPTED)


class EventBatchView(APIView):
    required_capability = EVENTS

    @extend_schema(
        operation_id="events_batch",
        request=EventBatchSerializer,
        responses={207: EventBatchResultSerializer, **problems(400, 401, 403, 415, 429)},
        summary="Record up to 1,000 events in one request",
        description=(
            "Each event is shaped like a single `POST /api/v1/events` body and handled on its own, in "
            "order: the answer holds one result per event, the event's result or a problem object for "
            "that event alone (422: an unknown contact, a reused event id); a refused event never "
            "stops the others. A body the schema refuses anywhere is a 400 for the whole request, "
            "naming `events.<i>.<field>`, and nothing is recorded (as "
            "`POST /api/v1/notifications/batch`). Needs the `events` scope."
        ),
    )
    def post(self, request: Request) -> Response:
        # The schema first, for every event: a violation anywhere refuses the whole request.
        items = plain_events(request.data)
        if items is None:
            envelope = EventBatchSerializer(data=request.data)
            envelope.is_valid(raise_exception=True)
            items = [event_input(item) for item in envelope.validated_data["events"]]
        results = []
        for index, outcome in enumerate(events_record(items=items, api_key=request_api_key(request))):
            if isinstance(outcome, EventOutcome):
                results.append({"status": 202, **_event_body(outcome)})
                continue
            answer = problem_exception_handler(
                refused_problem(outcome, title=EVENT_REFUSED), {"request": request}
            )
            body = dict(answer.data or {})
            body["instance"] = f"{request.path}#/events/{index}"
            results.append(body)
        return Response({"results": results}, status=207)


class JourneyRunDetailView(APIView):
    required_capability = EVENTS

    @extend_schema(
        operation_id="journey_runs_retrieve",
        responses={200: JourneyRunSerializer, **problems(401, 403, 404, 429)},
        summary="One journey run: its version, current step and timeline",
        description="Visible to the API key whose event started it. Needs the `events` scope.",
    )
    def get(self, request: Request, run_id: UUID) -> Response:
        run = journey_run_get(run_id=run_id, api_key=request_api_key(request))
        if run is None:
            raise not_found("journey run")
        return Response(JourneyRunSerializer(run).data)


class JourneyRunCancelView(APIView):
    required_capability = EVENTS

    @extend_schema(
        operation_id="journey_runs_cancel",
        request=None,
        responses={200: JourneyRunSerializer, **problems(401, 403, 404, 409, 429)},
        summary="Cancel a journey run that has not ended",
        description="409 `not_cancellable` if it has already ended. Needs the `events` scope.",
    )
    def post(self, request: Request, run_id: UUID) -> Response:
        api_key = request_api_key(request)
        run = journey_run_get(run_id=run_id, api_key=api_key)
        if run is None:
            raise not_found("journey run")
        try:
            journey_run_cancel(run=run, actor=Actor.api_key(api_key.pk))
        except RunNotCancellable as exc:
            raise Problem(
                status_code=409, code="not_cancellable", title="Run already ended", detail=str(exc)
            ) from exc
        return Response(JourneyRunSerializer(journey_run_get(run_id=run_id, api_key=api_key)).data)
