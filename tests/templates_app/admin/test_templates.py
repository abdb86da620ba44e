"""Template list, new drafts, and export/import from the admin."""

from __future__ import annotations

import json

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import AuditRecord
from audit.services import Actor
from templates_app.models import Template, VersionStatus
from templates_app.services import template_version_submit
from tests.factories import make_live_template

CHANGELIST = reverse("admin:templates_app_template_changelist")


def test_list_filters_by_category_channel_and_status(client, marketer, draft):
    make_live_template("push.only", variants=[{"channel": "push", "locale": "en", "title": "T", "text": "B"}])
    make_live_template("promo", category="marketing")
    client.force_login(marketer)

    def keys(query):
        return {t.key for t in client.get(CHANGELIST, query).context["cl"].result_list}

    assert keys({"category": "marketing"}) == {"promo"}
    assert keys({"channel": "push"}) == {"push.only"}
    assert keys({"status": "draft"}) == {"card.ready"}
    assert keys({"status": "live"}) == {"push.only", "promo"}
    template_version_submit(version=draft, actor=Actor.user(marketer.pk))
    assert keys({"status": "in_review"}) == {"card.ready"}


def test_creating_a_template_leads_to_its_first_draft(client, marketer):
    client.force_login(marketer)
    response = client.post(
        reverse("admin:templates_app_template_add"),
        {
            "key": "loan.approved",
            "name": "Loan approved",
            "description": "",
            "category": "transactional",
            "default_locale": "en",
            "versions-TOTAL_FORMS": "0",
            "versions-INITIAL_FORMS": "0",
            "versions-MIN_NUM_FORMS": "0",
            "versions-MAX_NUM_FORMS": "0",
        },
    )
    template = Template.objects.get(key="loan.approved")
    assert response["Location"] == reverse("admin:templates_app_template_new_draft", args=[template.pk])
    response = client.post(response["Location"], {"channels": ["sms", "push"], "locales": "en, fr"})
    version = template.versions.get()
    assert version.status == VersionStatus.DRAFT and version.author == marketer
    assert sorted(version.variants.values_list("channel", "locale")) == [
        ("push", "en"),
        ("push", "fr"),
        ("sms", "en"),
        ("sms", "fr"),
    ]
    assert response["Location"] == reverse("admin:templates_app_templateversion_change", args=[version.pk])


def test_export_action_then_import_view_creates_drafts(client, marketer, compliance):
    make_live_template("promo", category="marketing")
    client.force_login(compliance)
    response = client.post(
        CHANGELIST, {"action": "export_selected", "_selected_action": [Template.objects.get().pk]}
    )
    document = json.loads(response.content)
    assert document["templates"][0]["key"] == "promo"
    document["templates"][0]["key"] = "promo.copy"
    client.force_login(marketer)
    upload = SimpleUploadedFile("t.json", json.dumps(document).encode(), content_type="application/json")
    response = client.post(reverse("admin:templates_app_template_import"), {"file": upload})
    assert response.status_code == 302
    copy = Template.objects.get(key="promo.copy")
    assert copy.live_version is None and copy.versions.get().status == VersionStatus.DRAFT


def test_import_view_shows_problems_as_form_errors(client, marketer):
    client.force_login(marketer)
    upload = SimpleUploadedFile("t.json", b"not json")
    response = client.post(reverse("admin:templates_app_template_import"), {"file": upload})
    assert response.status_code == 200 and b"not JSON" in response.content


def test_compliance_cannot_import(client, compliance):
    client.force_login(compliance)
    assert client.get(reverse("admin:templates_app_template_import")).status_code == 403


def test_category_cannot_be_changed_after_creation(client, marketer, draft):
    client.force_login(marketer)
    template = draft.template
    response = client.post(
        reverse("admin:templates_app_template_change", args=[template.pk]),
        {
            "name": "Renamed",
            "description": "",
            "category": "marketing",
            "default_locale": "en",
            "versions-TOTAL_FORMS": "1",
            "versions-INITIAL_FORMS": "1",
            "versions-MIN_NUM_FORMS": "0",
            "versions-MAX_NUM_FORMS": "1000",
            "versions-0-id": str(draft.pk),
            "versions-0-template": str(template.pk),
        },
    )
    assert response.status_code == 302, response.content
    template.refresh_from_db()
    assert template.name == "Renamed" and template.category == "transactional"
    record = AuditRecord.objects.get(action="template.changed")
    assert record.payload["changed"] == ["name"] and record.actor_id == str(marketer.pk)
