"""Templates as code: export content (no approvals), import as drafts needing approval."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditRecord
from templates_app.models import EmailLayout, Template, TemplateApproval, TemplateVersion, VersionStatus
from templates_app.services import ImportFailed, templates_export, templates_import
from tests.factories import make_live_template

VARIANTS = [
    {"channel": "sms", "locale": "en", "text": "Hi {{ name }}"},
    {"channel": "email", "locale": "fr", "subject": "S", "html": "<p>{{ name }}</p>"},
]


@pytest.fixture
def importer(db, django_user_model):
    return django_user_model.objects.create(username="ops")


@pytest.fixture
def exported(db):
    make_live_template("promo", category="marketing", variants=VARIANTS)
    document = templates_export()
    # Arrive in "production": a database without these templates.
    Template.objects.update(live_version=None)
    TemplateApproval.objects.all().delete()
    Template.objects.all().delete()
    return document


def test_export_holds_content_but_no_approvals_or_authors(db):
    make_live_template("promo", variants=VARIANTS)
    document = templates_export()
    text = json.dumps(document)
    assert document["format"] == "switchboard.templates/1"
    (item,) = document["templates"]
    assert item["key"] == "promo" and len(item["content"]["variants"]) == 2
    assert item["content"]["variables"][0]["name"] == "name"
    assert "approv" not in text and "author" not in text


def test_import_arrives_as_drafts_needing_approval(exported, django_user_model):
    user = django_user_model.objects.create(username="ops")
    report = templates_import(document=exported, user=user)
    template = Template.objects.get(key="promo")
    version = template.versions.get()
    assert report.created_templates == ["promo"] and report.drafts == ["promo v1"]
    assert version.status == VersionStatus.DRAFT and version.author == user and template.live_version is None
    assert version.variants.count() == 2 and version.variables.count() == 1
    assert AuditRecord.objects.filter(action="template.imported").exists()


def test_importing_the_same_content_twice_adds_nothing(exported, importer):
    templates_import(document=exported, user=importer)
    report = templates_import(document=exported, user=importer)
    assert report.unchanged == ["promo"] and report.drafts == []
    assert TemplateVersion.objects.count() == 1


def test_invalid_document_writes_nothing(exported, importer):
    exported["templates"].append({"key": "Bad Key", "name": "x", "category": "marketing", "content": None})
    exported["templates"][0]["content"]["variants"][0]["channel"] = "fax"
    with pytest.raises(ImportFailed) as caught:
        templates_import(document=exported, user=importer)
    assert len(caught.value.problems) == 2
    assert not Template.objects.exists() and not EmailLayout.objects.exists()


def test_category_is_never_changed_by_import(exported, importer):
    Template.objects.create(key="promo", name="promo", category="transactional")
    with pytest.raises(ImportFailed, match="category"):
        templates_import(document=exported, user=importer)


def test_commands_round_trip(exported, importer, tmp_path, capsys):
    path = tmp_path / "t.json"
    path.write_text(json.dumps(exported))
    call_command("import_templates", str(path), "--user", "ops")
    assert "promo v1" in capsys.readouterr().out
    out = tmp_path / "again.json"
    call_command("export_templates", "promo", "--output", str(out))
    assert json.loads(out.read_text())["templates"][0]["key"] == "promo"


def test_import_command_reports_problems_and_fails(importer, tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(CommandError, match="Unknown format"):
        call_command("import_templates", str(path), "--user", "ops")
