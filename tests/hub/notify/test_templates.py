"""Templates over /v2/: a stable UUID, integer versions (only ever-approved ones shown), the
type filter, and preview with personalisation."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from templates_app.models import Template, TemplateVersion, VersionStatus
from templates_app.services import template_draft_create, template_version_approve
from tests.factories import make_live_template
from tests.hub.notify.conftest import assert_matches_notify_schema


def new_version(template: Template, text: str, *, approve: bool) -> TemplateVersion:
    User = get_user_model()
    author = User.objects.get(username=f"author-{template.key}")
    version = template_draft_create(
        template=template,
        author=author,
        variants=[{"channel": "sms", "locale": "en", "text": text}],
        variables=[{"name": "name", "type": "string", "required": True, "example": "Ada"}],
    )
    if approve:
        TemplateVersion.objects.filter(pk=version.pk).update(status=VersionStatus.IN_REVIEW)
        template_version_approve(
            version=version, approver=User.objects.get(username=f"approver-{template.key}")
        )
    return version


@pytest.fixture
def template(db: None) -> Any:
    return make_live_template(
        "greeting", variants=[{"channel": "sms", "locale": "en", "text": "Hi {{ name }}"}]
    )


@pytest.mark.django_db
class TestTemplates:
    def test_every_template_has_its_own_stable_uuid(self, template) -> None:
        other = make_live_template("other")
        assert isinstance(template.uuid, uuid.UUID)
        assert template.uuid != other.uuid
        before = template.uuid
        new_version(template, "Hello {{ name }}", approve=True)
        template.refresh_from_db()
        assert template.uuid == before

    def test_by_id_is_the_live_version_and_versions_stay_readable(self, notify_client, template) -> None:
        new_version(template, "Hello {{ name }}", approve=True)
        new_version(template, "Draft {{ name }}", approve=False)
        live = notify_client.get(f"/v2/template/{template.uuid}").json()
        assert_matches_notify_schema(live, "get_template_by_id_response")
        assert (live["version"], live["body"]) == (2, "Hello {{ name }}")
        assert live["personalisation"] == {"name": {"required": True}}
        first = notify_client.get(f"/v2/template/{template.uuid}/version/1").json()
        assert (first["version"], first["body"]) == (1, "Hi {{ name }}")
        draft = notify_client.get(f"/v2/template/{template.uuid}/version/3")
        assert draft.status_code == 404
        assert draft.json()["errors"] == [{"error": "NoResultFound", "message": "No result found"}]

    def test_unknown_and_malformed_ids(self, notify_client, template) -> None:
        assert notify_client.get(f"/v2/template/{uuid.uuid4()}").status_code == 404
        bad = notify_client.get("/v2/template/abc")
        assert bad.status_code == 400
        assert bad.json()["errors"] == [{"error": "ValidationError", "message": "id is not a valid UUID"}]

    def test_list_by_type(self, notify_client, template) -> None:
        mixed = make_live_template("mixed")  # SMS and email content
        make_live_template(
            "push.only", variants=[{"channel": "push", "locale": "en", "title": "T", "text": "B"}]
        )
        every = notify_client.get("/v2/templates").json()
        assert_matches_notify_schema(every, "get_all_template_response")
        assert {t["id"] for t in every["templates"]} == {str(template.uuid), str(mixed.uuid)}
        emails = notify_client.get("/v2/templates", type="email").json()["templates"]
        assert [(t["id"], t["type"]) for t in emails] == [(str(mixed.uuid), "email")]
        assert notify_client.get("/v2/templates", type="letter").json() == {"templates": []}
        assert notify_client.get("/v2/templates", type="fax").status_code == 400

    def test_preview(self, notify_client, template) -> None:
        response = notify_client.post(
            f"/v2/template/{template.uuid}/preview", {"personalisation": {"NAME": "Ada"}}
        )
        assert response.status_code == 200, response.content
        assert_matches_notify_schema(response.json(), "post_template_preview_response")
        assert response.json()["body"] == "Hi Ada"
        missing = notify_client.post(f"/v2/template/{template.uuid}/preview", {"personalisation": {}})
        assert missing.json()["errors"] == [
            {"error": "BadRequestError", "message": "Missing personalisation: name"}
        ]
