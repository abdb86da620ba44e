"""Maker-checker: drafts, lint-gated submit, immutability, approve/reject, rollback, audit."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from audit.models import AuditRecord
from audit.services import Actor
from templates_app.models import EmailLayout, Template, VersionStatus
from templates_app.rendering.core import version_layout
from templates_app.services import (
    TemplateLintFailed,
    TemplateWorkflowError,
    template_create,
    template_draft_create,
    template_draft_edited,
    template_draft_from,
    template_version_approve,
    template_version_reject,
    template_version_submit,
)

SMS = [{"channel": "sms", "locale": "en", "text": "Hi {{ name }}"}]
NAME = [{"name": "name", "type": "string", "required": True, "example": "Ada"}]


@pytest.fixture
def people(db):
    User = get_user_model()
    return User.objects.create(username="maker"), User.objects.create(username="checker")


@pytest.fixture
def template(people):
    return template_create(
        key="card.ready", name="Card ready", category="transactional", actor=Actor.user(people[0].pk)
    )


def _submitted(template, author, variants=SMS, variables=NAME, **kwargs):
    version = template_draft_create(
        template=template, author=author, variants=variants, variables=variables, **kwargs
    )
    template_version_submit(version=version, actor=Actor.user(author.pk), comment="please review")
    return version


def _audit(action):
    return list(AuditRecord.objects.filter(action=action).order_by("seq"))


def test_draft_submit_approve_makes_it_live_with_audit_comments(template, people):
    maker, checker = people
    version = _submitted(template, maker)
    assert version.status == VersionStatus.IN_REVIEW and version.submitted_at
    approval = template_version_approve(version=version, approver=checker, comment="fine")
    template.refresh_from_db()
    assert template.live_version == version and approval.approved_by == checker
    (submitted,) = _audit("template.version_submitted")
    (approved,) = _audit("template.version_approved")
    assert submitted.actor_id == str(maker.pk) and submitted.payload["comment"] == "please review"
    assert approved.actor_id == str(checker.pk) and approved.payload["comment"] == "fine"
    assert _audit("template.created") and _audit("template.version_created")


def test_the_author_can_never_approve_or_reject_their_own_version(template, people):
    maker, _ = people
    maker.is_superuser = True  # holding every permission changes nothing
    maker.save()
    version = _submitted(template, maker)
    with pytest.raises(TemplateWorkflowError):
        template_version_approve(version=version, approver=maker)
    with pytest.raises(TemplateWorkflowError):
        template_version_reject(version=version, reviewer=maker, comment="no")
    version.refresh_from_db()
    template.refresh_from_db()
    assert version.status == VersionStatus.IN_REVIEW and template.live_version is None
    assert not _audit("template.version_approved")


def test_lint_errors_block_submission_and_change_nothing(template, people):
    version = template_draft_create(template=template, author=people[0], variants=SMS, variables=[])
    with pytest.raises(TemplateLintFailed) as caught:
        template_version_submit(version=version, actor=Actor.user(people[0].pk))
    assert any(f.code == "undeclared_variable" for f in caught.value.findings)
    version.refresh_from_db()
    assert version.status == VersionStatus.DRAFT and not _audit("template.version_submitted")


def test_warnings_are_kept_on_the_submitted_version(template, people):
    variables = [*NAME, {"name": "spare", "type": "string", "required": False, "example": "x"}]
    version = _submitted(template, people[0], variables=variables)
    assert any(f["code"] == "unused_variable" for f in version.lint)


def test_a_submitted_version_cannot_be_edited_or_resubmitted(template, people):
    version = _submitted(template, people[0])
    with pytest.raises(TemplateWorkflowError):
        template_draft_edited(version=version, actor=Actor.user(people[0].pk), comment="sneaky")
    with pytest.raises(TemplateWorkflowError):
        template_version_submit(version=version, actor=Actor.user(people[0].pk))


def test_editing_a_submitted_version_makes_a_new_draft_copy(template, people):
    maker, checker = people
    v1 = _submitted(template, maker)
    template_version_approve(version=v1, approver=checker)
    v2 = template_draft_from(version=v1, author=maker)
    assert (v2.number, v2.status) == (2, VersionStatus.DRAFT)
    assert list(v2.variants.values_list("text", flat=True)) == ["Hi {{ name }}"]
    assert list(v2.variables.values_list("name", flat=True)) == ["name"]
    template_draft_edited(version=v2, actor=Actor.user(maker.pk), comment="tweak", changed=["variants"])
    (edited,) = _audit("template.version_edited")
    assert edited.payload["comment"] == "tweak"
    template.refresh_from_db()
    assert template.live_version == v1


def test_reject_needs_a_reason_and_is_audited(template, people):
    maker, checker = people
    version = _submitted(template, maker)
    with pytest.raises(TemplateWorkflowError):
        template_version_reject(version=version, reviewer=checker, comment=" ")
    template_version_reject(version=version, reviewer=checker, comment="Wrong tone")
    assert version.status == VersionStatus.REJECTED and version.review_comment == "Wrong tone"
    assert _audit("template.version_rejected")[0].payload["comment"] == "Wrong tone"
    with pytest.raises(TemplateWorkflowError):
        template_version_approve(version=version, approver=checker)


def test_exactly_one_live_version_and_rollback_by_reapproving(template, people):
    maker, checker = people
    v1 = _submitted(template, maker)
    template_version_approve(version=v1, approver=checker)
    v2 = _submitted(
        template, maker, variants=[{"channel": "sms", "locale": "en", "text": "Hello {{ name }}"}]
    )
    template_version_approve(version=v2, approver=checker)
    template.refresh_from_db()
    assert template.live_version == v2
    template_version_approve(version=v1, approver=checker, comment="rollback")
    template.refresh_from_db()
    assert template.live_version == v1 and v1.approvals.count() == 2
    assert _audit("template.version_approved")[-1].payload["previous_live_version"] == v2.pk
    assert Template.objects.get(pk=template.pk).live_version_id == v1.pk


def test_layout_is_frozen_at_submit(template, people):
    layout = EmailLayout.objects.create(name="Brand", postal_address="1 High St")
    email = [{"channel": "email", "locale": "en", "subject": "S", "html": "<p>{{ name }}</p>"}]
    version = _submitted(template, people[0], variants=email, layout=layout)
    layout.postal_address = "Changed later"
    layout.save()
    version.refresh_from_db()
    assert version_layout(version)["postal_address"] == "1 High St"


def test_bad_template_key_is_refused(people):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        template_create(key="Bad Key!", name="x", category="marketing", actor=Actor.system())


def test_saving_a_layout_is_audited(db):
    from templates_app.services import email_layout_save

    layout = email_layout_save(
        layout=EmailLayout(name="Brand", postal_address="1 High St"), actor=Actor.system()
    )
    layout.css = "p { color: red; }"
    email_layout_save(layout=layout, actor=Actor.user(7), changed=["css"])
    assert [r.action for r in AuditRecord.objects.filter(object_type="email_layout").order_by("seq")] == [
        "template.layout_created",
        "template.layout_changed",
    ]


def test_content_of_a_submitted_version_is_frozen_in_the_database_layer(template, people):
    from templates_app.models import FrozenVersionError

    version = _submitted(template, people[0])
    variant = version.variants.get()
    variant.text = "changed behind the services' back"
    with pytest.raises(FrozenVersionError):
        variant.save()
    with pytest.raises(FrozenVersionError):
        version.variables.get().delete()
    assert version.variants.get().text == "Hi {{ name }}"
