"""The OpenAPI schema documents every endpoint with examples; /api/docs/ works; schemathesis,
with every check and negative cases too, finds nothing: no server error, no response that
breaks the schema, nothing the schema forbids accepted, nothing it allows refused for its shape."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from hub.wsgi import application

# The repository's schemathesis.toml, as `schemathesis run` reads it: positive_data_acceptance
# allows 422 (refused on meaning, documented), never 400 (a schema that lies).
CONFIG = SchemathesisConfig.from_path(Path(__file__).resolve().parents[3] / "schemathesis.toml")
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, config=CONFIG)
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    missing_required_header,
    unsupported_method,
    ignored_auth,
]

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
def auth_header(db, live_template, contact, settings):
    """A key for the generated requests, with DEBUG on as scripts/up runs the hub. Like
    Django's test client, keep the test's database connection open across requests made
    straight to the WSGI app."""
    from django.core import signals
    from django.db import close_old_connections

    from hub.apikeys.services import apikey_create

    issued = apikey_create(name="schemathesis")
    type(issued.api_key).objects.filter(pk=issued.api_key.pk).update(
        rate_limit_burst=100_000, rate_limit_per_minute=600_000
    )
    settings.DEBUG = True
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield {"Authorization": f"Bearer {issued.raw}"}
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.slow
@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_conforms_to_its_schema(case, auth_header):
    """Positive and negative cases: no 5xx; documented status codes, content types and bodies;
    schema-violating requests refused; schema-valid ones not refused for their shape."""
    case.call_and_validate(headers=auth_header, checks=CHECKS)


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
