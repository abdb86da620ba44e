"""Journey versions: draft → in review (frozen) → approved (live) / rejected, maker-checker, audited."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from audit.models import AuditRecord
from audit.services import Actor
from hub.journeys.definition import InvalidDefinition
from hub.journeys.models import Journey
from hub.journeys.services import (
    JourneyWorkflowError,
    journey_create,
    journey_draft_create,
    journey_draft_edit,
    journey_version_approve,
    journey_version_reject,
    journey_version_submit,
)
from templates_app.models import VersionStatus
from tests.hub.journeys.conftest import definition

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("shipped")]


@pytest.fixture
def maker() -> User:
    return User.objects.create_user("maker")


@pytest.fixture
def checker() -> User:
    return User.objects.create_user("checker")


@pytest.fixture
def journey() -> Journey:
    return journey_create(key="welcome", name="Welcome", actor=Actor.system())


def test_a_draft_with_problems_is_not_saved(journey: Journey, maker: User) -> None:
    with pytest.raises(InvalidDefinition) as caught:
        journey_draft_create(journey=journey, author=maker, definition=definition(colour=1))
    assert "unknown field" in str(caught.value)
    assert journey.versions.count() == 0


def test_submitted_versions_are_frozen(journey: Journey, maker: User) -> None:
    version = journey_draft_create(journey=journey, author=maker, definition=definition())
    journey_draft_edit(version=version, actor=Actor.user(maker.pk), definition=definition(name="Hello"))
    journey_version_submit(version=version, actor=Actor.user(maker.pk))
    assert version.status == VersionStatus.IN_REVIEW
    with pytest.raises(JourneyWorkflowError, match="can no longer change"):
        journey_draft_edit(version=version, actor=Actor.user(maker.pk), definition=definition(name="Other"))
    version.refresh_from_db()
    assert version.definition["name"] == "Hello"


def test_the_author_or_an_editor_or_a_submitter_cannot_approve(
    journey: Journey, maker: User, checker: User
) -> None:
    version = journey_draft_create(journey=journey, author=maker, definition=definition())
    editor = User.objects.create_user("editor")
    journey_draft_edit(version=version, actor=Actor.user(editor.pk), definition=definition())
    submitter = User.objects.create_user("submitter")
    journey_version_submit(version=version, actor=Actor.user(submitter.pk))
    for user in (maker, editor, submitter):
        with pytest.raises(JourneyWorkflowError, match="cannot review a version you wrote"):
            journey_version_approve(version=version, approver=user)
    journey.refresh_from_db()
    assert journey.live_version is None
    journey_version_approve(version=version, approver=checker)
    journey.refresh_from_db()
    assert journey.live_version == version


def test_a_version_with_no_author_cannot_be_approved(journey: Journey, checker: User) -> None:
    version = journey_draft_create(journey=journey, author=None, definition=definition())
    journey_version_submit(version=version, actor=Actor.system())
    with pytest.raises(JourneyWorkflowError, match="no author"):
        journey_version_approve(version=version, approver=checker)


def test_a_draft_cannot_be_approved_and_rejection_needs_a_reason(
    journey: Journey, maker: User, checker: User
) -> None:
    version = journey_draft_create(journey=journey, author=maker, definition=definition())
    with pytest.raises(JourneyWorkflowError, match="Only a submitted version"):
        journey_version_approve(version=version, approver=checker)
    journey_version_submit(version=version, actor=Actor.user(maker.pk))
    with pytest.raises(JourneyWorkflowError, match="Say why"):
        journey_version_reject(version=version, reviewer=checker, comment=" ")
    journey_version_reject(version=version, reviewer=checker, comment="Too pushy")
    assert version.status == VersionStatus.REJECTED


def test_rollback_approves_an_older_version_again_and_every_step_is_audited(
    journey: Journey, maker: User, checker: User
) -> None:
    first = journey_draft_create(journey=journey, author=maker, definition=definition())
    journey_version_submit(version=first, actor=Actor.user(maker.pk))
    journey_version_approve(version=first, approver=checker)
    second = journey_draft_create(journey=journey, author=maker, definition=definition(name="Two"))
    journey_version_submit(version=second, actor=Actor.user(maker.pk))
    journey_version_approve(version=second, approver=checker)
    journey.refresh_from_db()
    assert journey.live_version == second
    journey_version_approve(version=first, approver=checker, comment="roll back")
    journey.refresh_from_db()
    assert journey.live_version == first
    actions = list(
        AuditRecord.objects.filter(object_type="journey_version")
        .order_by("seq")
        .values_list("action", "object_id")
    )
    assert actions == [
        ("journey.version_created", str(first.pk)),
        ("journey.version_submitted", str(first.pk)),
        ("journey.version_approved", str(first.pk)),
        ("journey.version_created", str(second.pk)),
        ("journey.version_submitted", str(second.pk)),
        ("journey.version_approved", str(second.pk)),
        ("journey.version_approved", str(first.pk)),
    ]
