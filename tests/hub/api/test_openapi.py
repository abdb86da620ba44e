"""The OpenAPI schema documents every endpoint with examples; /api/docs/ works; schemathesis
finds no server error and no response that breaks the schema."""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hub.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)

OPERATIONS = {
    ("post", "/api/v1/notifications"),
    ("get", "/api/v1/notifications/{notification_id}"),
    ("post", "/api/v1/notifications/{notification_id}/cancel"),
    ("get", "/api/v1/messages/{message_id}"),
    ("post", "/api/v1/broadcasts"),
    ("get", "/api/v1/broadcasts/{broadcast_id}"),
    ("post", "/api/v1/broadcasts/{broadcast_id}/cancel"),
    ("post", "/api/v1/broadcasts/{broadcast_id}/pause"),
    ("post", "/api/v1/broadcasts/{broadcast_id}/resume"),
    ("get", "/api/v1/callback"),
    ("put", "/api/v1/callback"),
    ("delete", "/api/v1/callback"),
}


@pytest.mark.django_db
def test_every_operation_is_documented_with_errors(client):
    document = client.get("/api/schema/?format=json").json()
    found = {(method, path) for path, item in document["paths"].items() for method in item}
    assert found >= OPERATIONS
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert operation.get("summary"), f"{method} {path} has no summary"
            assert "401" in operation["responses"], f"{method} {path} does not document 401"
    bodies = document["components"]["schemas"]
    assert document["paths"]["/api/v1/notifications"]["post"]["requestBody"]["content"]["application/json"][
        "examples"
    ]
    assert document["paths"]["/api/v1/broadcasts"]["post"]["requestBody"]["content"]["application/json"][
        "examples"
    ]
    assert "delivered_channel" in bodies["Notification"]["properties"]
    assert "progress" in bodies["Broadcast"]["properties"]
    headers = [p["name"] for p in document["paths"]["/api/v1/notifications"]["post"]["parameters"]]
    assert "Idempotency-Key" in headers


@pytest.mark.django_db
def test_docs_page_works(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger-ui" in response.content.lower()


@pytest.fixture
def auth_header(db, live_template, contact):
    """A key for the generated requests. Like Django's test client, keep the test's database
    connection open across requests made straight to the WSGI app."""
    from django.core import signals
    from django.db import close_old_connections

    from hub.apikeys.services import apikey_create

    issued = apikey_create(name="schemathesis")
    type(issued.api_key).objects.filter(pk=issued.api_key.pk).update(
        rate_limit_burst=100_000, rate_limit_per_minute=600_000
    )
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield {"Authorization": f"Bearer {issued.raw}"}
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.slow
@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_conforms_to_its_schema(case, auth_header):
    """No 5xx, documented status codes and content types, bodies that match the schema."""
    case.call_and_validate(
        headers=auth_header,
        checks=[
            status_code_conformance,
            content_type_conformance,
            response_headers_conformance,
            response_schema_conformance,
        ],
    )


@pytest.mark.django_db
def test_docs_page_assets_come_from_the_hub_itself(client):
    """Issue 14 point 9: no CDN, so an offline install shows the docs; every script, style and
    icon the page names is served by the hub (with DEBUG off, as here)."""
    page = client.get("/api/docs/").content.decode()
    assets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", page)
    assert assets, "the page names no assets"
    assert not [a for a in assets if a.startswith(("http:", "https:", "//"))]
    scripts = [a for a in assets if a.endswith(".js")]
    assert any("swagger-ui-bundle" in a for a in scripts)
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert b"".join(response.streaming_content if response.streaming else [response.content])
