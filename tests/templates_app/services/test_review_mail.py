"""Issue 20, point 4: authors and reviewers are told of a submission and a decision by email,
sent through Switchboard itself (the seeded transactional template, through the one intake,
audited)."""

from __future__ import annotations

import pytest

from audit.models import AuditRecord
from audit.services import Actor
from hub.messaging.models import Notification
from templates_app.services import template_version_approve, template_version_reject, template_version_submit
from tests.factories import make_live_template
from tests.templates_app.admin.conftest import staff

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def review_template():
    """``seed_demo`` writes and approves it (hub/demo_templates.py); here the same content."""
    from hub.demo_templates import REVIEW_NOTICE, REVIEW_NOTICE_VARIABLES

    return make_live_template("switchboard.review", variants=REVIEW_NOTICE, variables=REVIEW_NOTICE_VARIABLES)


def notices():
    return {
        n.to["email"]: n
        for n in Notification.objects.filter(template__key="switchboard.review").select_related("template")
    }


def test_reviewers_are_told_of_a_submission_with_the_authors_note(
    marketer, compliance, draft, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        template_version_submit(version=draft, actor=Actor.user(marketer.pk), comment="Price wording changed")
    sent = notices()
    assert set(sent) == {"colin@example.com"}  # the reviewer, not the author
    notice = sent["colin@example.com"]
    assert notice.data["subject"] == "card.ready v1 is waiting for your review"
    assert "Price wording changed" in notice.data["message"]
    assert notice.data["link"].endswith(f"/admin/templates_app/templateversion/{draft.pk}/review/")
    assert notice.template.category == "transactional" and notice.messages.get().channel == "email"
    assert AuditRecord.objects.filter(action="message.accepted").exists()  # audited as every send


def test_the_author_is_told_of_the_approval_and_of_a_rejection(
    marketer, compliance, draft, django_capture_on_commit_callbacks
):
    template_version_submit(version=draft, actor=Actor.user(marketer.pk))
    with django_capture_on_commit_callbacks(execute=True):
        template_version_reject(version=draft, reviewer=compliance, comment="Say STOP")
    assert notices()["mara@example.com"].data["subject"] == "card.ready v1 was rejected"
    assert "Say STOP" in notices()["mara@example.com"].data["message"]
    Notification.objects.all().delete()
    from templates_app.models import TemplateVersion, VersionStatus

    TemplateVersion.objects.filter(pk=draft.pk).update(status=VersionStatus.IN_REVIEW)
    other = staff("carla", "Compliance")
    with django_capture_on_commit_callbacks(execute=True):
        template_version_approve(version=draft, approver=other, comment="ok")
    assert notices()["mara@example.com"].data["subject"] == "card.ready v1 was approved"


def test_a_notice_that_cannot_be_sent_never_undoes_the_review(
    marketer, compliance, draft, django_capture_on_commit_callbacks
):
    from templates_app.models import Template

    Template.objects.filter(key="switchboard.review").update(live_version=None)
    with django_capture_on_commit_callbacks(execute=True):
        template_version_submit(version=draft, actor=Actor.user(marketer.pk))
    draft.refresh_from_db()
    assert draft.status == "in_review" and not notices()
