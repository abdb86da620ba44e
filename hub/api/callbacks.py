"""The API key's status callback endpoint: register, read, remove."""

from __future__ import annotations

from typing import Any

from django.core.validators import URLValidator
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.services import Actor
from hub.api.schema import problems
from hub.api.serializers import StrictSerializer
from hub.api.views import not_found, request_api_key
from hub.callbacks.models import CallbackEndpoint
from hub.callbacks.safety import validate_callback_url
from hub.callbacks.services import callback_endpoint_remove, callback_endpoint_set


class CallbackURLField(serializers.URLField):
    """A URL the schema's ``format: uri`` allows but Django's URLValidator refuses (a host label
    over 63 characters...) is refused on its meaning, like a host that does not resolve: its
    error code is ``callback_url``, answered 422."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for validator in self.validators:
            if isinstance(validator, URLValidator):
                validator.code = "callback_url"


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "Register", value={"url": "https://cards.example.com/hooks/switchboard"}, request_only=True
        )
    ]
)
class CallbackSetSerializer(StrictSerializer):
    url = CallbackURLField(
        max_length=500,
        validators=[validate_callback_url],
        help_text="Status events are POSTed here, signed. Not this host, link-local or multicast addresses.",
    )


class CallbackEndpointSerializer(serializers.ModelSerializer[CallbackEndpoint]):
    secret = serializers.CharField(
        help_text="Key for the HMAC-SHA256 in `Switchboard-Signature` (see docs/api.md for a check)."
    )
    suspended = serializers.BooleanField(source="is_suspended")

    class Meta:
        model = CallbackEndpoint
        fields = (
            "url",
            "secret",
            "suspended",
            "suspended_at",
            "consecutive_failures",
            "created_at",
            "updated_at",
        )


class CallbackEndpointView(APIView):
    @extend_schema(
        operation_id="callback_retrieve",
        responses={200: CallbackEndpointSerializer, **problems(401, 403, 404, 429)},
        summary="This API key's status callback endpoint",
    )
    def get(self, request: Request) -> Response:
        endpoint = CallbackEndpoint.objects.filter(api_key=request_api_key(request)).first()
        if endpoint is None:
            raise not_found("callback endpoint")
        return Response(CallbackEndpointSerializer(endpoint).data)

    @extend_schema(
        operation_id="callback_update",
        request=CallbackSetSerializer,
        responses={200: CallbackEndpointSerializer, **problems(400, 401, 403, 415, 429)},
        summary="Register or change the status callback URL",
        description=(
            'Every status change of this key\'s messages is POSTed there as `{"events": [...]}`, '
            "signed with `Switchboard-Signature: v1=<hex HMAC-SHA256 of <Switchboard-Timestamp>.<body>>` "
            "and retried with exponential backoff for 24 h. An endpoint failing 20 times in a row is "
            "suspended until it is changed here or resumed in admin."
        ),
    )
    def put(self, request: Request) -> Response:
        serializer = CallbackSetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        api_key = request_api_key(request)
        endpoint = callback_endpoint_set(
            api_key=api_key, url=serializer.validated_data["url"], actor=Actor.api_key(api_key.pk)
        )
        return Response(CallbackEndpointSerializer(endpoint).data)

    @extend_schema(
        operation_id="callback_destroy",
        responses={204: None, **problems(401, 403, 404, 429)},
        summary="Stop status callbacks",
    )
    def delete(self, request: Request) -> Response:
        api_key = request_api_key(request)
        if not callback_endpoint_remove(api_key=api_key, actor=Actor.api_key(api_key.pk)):
            raise not_found("callback endpoint")
        return Response(status=204)
