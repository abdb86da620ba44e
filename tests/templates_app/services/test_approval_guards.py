"""Maker-checker has no back doors: a version nobody owns, or one the reviewer wrote, edited or
submitted, can never be approved or rejected by them, through any path."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from audit.services import Actor
from templates_app.models import Template, VersionStatus
from templates_app.services import (
    TemplateWorkflowError,
    template_create,
    template_draft_create,
    template_draft_edited,
    template_version_approve,
    template_version_reject,
    template_version_submit,
    templates_export,
)

SMS = [{"channel": "sms", "locale": "en", "text": "Hi {{ name }}"}]
NAME = [{"name": "name", "type": "string", "required": True, "example": "Ada"}]


@pytest.fixture
def people(db):
    User = get_user_model()
    return tuple(User.objects.create(username=name) for name in ("maker", "editor", "submitter", "checker"))


@pytest.fixture
def template(people):
    return template_create(
        key="card.ready", name="Card ready", category="transactional", actor=Actor.system()
    )


def _refused(version, user):
    with pytest.raises(TemplateWorkflowError):
        template_version_approve(version=version, approver=user)
    with pytest.raises(TemplateWorkflowError):
        template_version_reject(version=version, reviewer=user, comment="no")
    version.refresh_from_db()
    assert version.status == VersionStatus.IN_REVIEW
    assert Template.objects.get(pk=version.template_id).live_version is None


def test_a_version_with_no_author_cannot_be_approved_by_anyone(template, people):
    version = template_draft_create(template=template, author=None, variants=SMS, variables=NAME)
    template_version_submit(version=version, actor=Actor.user(people[2].pk))
    _refused(version, people[3])


def test_whoever_edited_or_submitted_a_version_cannot_review_it(template, people):
    maker, editor, submitter, checker = people
    version = template_draft_create(template=template, author=maker, variants=SMS, variables=NAME)
    template_draft_edited(version=version, actor=Actor.user(editor.pk), comment="tweak")
    template_version_submit(version=version, actor=Actor.user(submitter.pk))
    for user in (maker, editor, submitter):
        _refused(version, user)
    template_version_approve(version=version, approver=checker)
    version.refresh_from_db()
    assert version.status == VersionStatus.APPROVED


def test_import_templates_requires_user_and_the_importer_cannot_approve(template, people, tmp_path):
    maker, _, _, checker = people
    version = template_draft_create(template=template, author=maker, variants=SMS, variables=NAME)
    document = templates_export(keys=["card.ready"])
    Template.objects.all().delete()
    path = tmp_path / "t.json"
    path.write_text(json.dumps(document))
    with pytest.raises(CommandError, match="--user"):
        call_command("import_templates", str(path))
    assert not Template.objects.exists()
    call_command("import_templates", str(path), "--user", "submitter")
    (imported,) = Template.objects.get(key="card.ready").versions.all()
    assert imported.author == people[2] and version.pk != imported.pk
    template_version_submit(version=imported, actor=Actor.user(people[2].pk))
    _refused(imported, people[2])
    template_version_approve(version=imported, approver=checker)


def test_the_review_page_refuses_an_editor_of_the_version(client, template, people):
    from django.contrib.auth.models import Group
    from django.urls import reverse

    from hub.roles import roles_ensure

    maker, editor, _, _ = people
    roles_ensure()
    editor.is_staff = True
    editor.save()
    editor.groups.add(Group.objects.get(name="Compliance"))
    version = template_draft_create(template=template, author=maker, variants=SMS, variables=NAME)
    template_draft_edited(version=version, actor=Actor.user(editor.pk), comment="tweak")
    template_version_submit(version=version, actor=Actor.user(maker.pk))
    client.force_login(editor)
    url = reverse("admin:templates_app_templateversion_review", args=[version.pk])
    assert b"You cannot review a version you wrote, edited or submitted" in client.get(url).content
    response = client.post(url, {"approve": "1", "comment": ""})
    assert response.status_code == 200 and b"ask a colleague" in response.content
    version.refresh_from_db()
    assert version.status == VersionStatus.IN_REVIEW
