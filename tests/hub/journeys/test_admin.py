"""The journeys admin (17.3): the step editor, version page, submit and review, simulate, diff
and export, through the admin as each role uses it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditRecord
from audit.services import Actor
from hub.journeys.models import Journey, JourneyVersion
from hub.journeys.services.transfer import journeys_export, journeys_push
from templates_app.models import VersionStatus
from tests.factories import make_contacts, make_staff_user

pytestmark = pytest.mark.django_db

STEPS: list[dict[str, Any]] = [
    {"id": "hello", "type": "send", "template": "order.shipped", "channels": ["sms"]},
    {"id": "pause", "type": "wait", "duration": "2d"},
    {
        "id": "again",
        "type": "send",
        "template": "order.shipped",
        "channels": ["email"],
        "extra_data": "note=again",
    },
]


def editor_post(steps: list[dict[str, Any]] = STEPS, **journey: Any) -> dict[str, Any]:
    """The POST the editor sends for a journey ``welcome`` with these steps (form field names)."""
    data: dict[str, Any] = {
        "key": "welcome",
        "name": "Welcome",
        "trigger_event": "signed.up",
        "reentry_policy": "once",
        "steps-TOTAL_FORMS": str(len(steps)),
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "1",
        "steps-MAX_NUM_FORMS": "100",
        "_save": "Save draft",
        **journey,
    }
    for index, step in enumerate(steps):
        data[f"steps-{index}-ORDER"] = str(index + 1)
        for name, value in step.items():
            data[f"steps-{index}-{name}"] = value
    return data


@pytest.fixture
def users(db):
    from hub.roles import roles_ensure

    roles_ensure()
    return make_staff_user("Marketer", "mia"), make_staff_user("Compliance", "carl")


def _as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


NEW = reverse("admin:journeys_journeyversion_new")


def test_a_marketer_builds_a_journey_from_forms(users, shipped) -> None:
    mia, _ = users
    response = _as(mia).post(
        NEW,
        editor_post(
            goal_event="order.completed",
            goal_within="7d",
            exit_events="order.completed\norder.cancelled if event.data.n > 1",
        ),
    )
    version = JourneyVersion.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{version.pk}/change/")
    assert version.status == VersionStatus.DRAFT and version.author == mia
    assert version.definition == {
        "key": "welcome",
        "name": "Welcome",
        "trigger": {"event": "signed.up"},
        "reentry": {"policy": "once"},
        "exit_events": [
            {"event": "order.completed"},
            {"event": "order.cancelled", "condition": "event.data.n > 1"},
        ],
        "goal": {"event": "order.completed", "within": "7d"},
        "steps": [
            {"id": "hello", "type": "send", "template": "order.shipped", "channels": ["sms"]},
            {"id": "pause", "type": "wait", "duration": "2d"},
            {
                "id": "again",
                "type": "send",
                "template": "order.shipped",
                "channels": ["email"],
                "data": {"note": "again"},
            },
        ],
    }
    assert AuditRecord.objects.filter(action="journey.version_created", object_id=str(version.pk)).exists()
    page = _as(mia).get(reverse("admin:journeys_journeyversion_change", args=[version.pk])).content.decode()
    assert "Send SMS <code>order.shipped</code>" in page and "Wait 2 days." in page
    assert "<svg" in page and "journey-step" in page
    assert 'id="journey-submit"' in page and "Lint" in page


def test_problems_land_on_the_field_they_are_about_and_nothing_is_saved(users, shipped) -> None:
    mia, _ = users
    steps = [
        dict(STEPS[0], next="nowhere"),
        {"id": "pause", "type": "wait"},
        dict(STEPS[2], template="no.such"),
    ]
    response = _as(mia).post(NEW, editor_post(steps, trigger_condition="contact.tier == 'gold'"))
    assert response.status_code == 200
    journey_form, formset = response.context["journey_form"], response.context["formset"]
    assert "'contact.tier' is not a contact field" in journey_form.errors["trigger_condition"][0]
    assert formset.forms[0].errors["next"] == ["there is no step 'nowhere'."]
    assert "either a duration or an until time" in formset.forms[1].non_field_errors()[0]
    assert formset.forms[2].errors["template"] == ["there is no template 'no.such'."]
    assert "there is no step" in response.content.decode()
    assert not Journey.objects.exists() and not JourneyVersion.objects.exists()


def test_form_level_mistakes_are_form_errors(users, shipped) -> None:
    mia, _ = users
    steps = [dict(STEPS[0], extra_data="no equals sign"), {"id": "b", "type": "branch", "branches": "x =>"}]
    response = _as(mia).post(NEW, editor_post(steps, goal_within="1d"))
    formset = response.context["formset"]
    assert formset.forms[0].errors["extra_data"] == ["'no equals sign' is not key=value."]
    assert formset.forms[1].errors["branches"] == ["'x =>' is not CONDITION => step_id."]
    assert response.context["journey_form"].errors["goal_within"] == ["Name the goal event too."]
    assert not JourneyVersion.objects.exists()


def test_add_a_step_reorder_and_remove(users, shipped) -> None:
    mia, _ = users
    client = _as(mia)
    added = client.post(NEW, editor_post(STEPS[:1]) | {"_add_step": "Add a step"})
    assert added.status_code == 200 and len(added.context["formset"].forms) == 2
    assert not JourneyVersion.objects.exists()
    data = editor_post(STEPS)
    data |= {"steps-0-ORDER": "3", "steps-2-ORDER": "1", "steps-1-DELETE": "on"}
    client.post(NEW, data)
    assert [s["id"] for s in JourneyVersion.objects.get().definition["steps"]] == ["again", "hello"]


def test_a_draft_is_edited_in_place_and_a_submitted_one_starts_a_new_draft(users, shipped) -> None:
    mia, _ = users
    client = _as(mia)
    client.post(NEW, editor_post())
    draft = JourneyVersion.objects.get()
    edit = reverse("admin:journeys_journeyversion_edit", args=[draft.pk])
    form = client.get(edit).context["journey_form"]
    assert form.initial["trigger_event"] == "signed.up"
    client.post(edit, editor_post(STEPS[:2], name="Welcome 2"))
    draft.refresh_from_db()
    assert draft.definition["name"] == "Welcome 2" and len(draft.definition["steps"]) == 2
    edited = AuditRecord.objects.get(action="journey.version_edited", object_id=str(draft.pk))
    assert edited.payload["before"]["name"] == "Welcome" and edited.payload["after"] == draft.definition
    assert JourneyVersion.objects.count() == 1
    wrong_key = client.post(edit, editor_post(key="other"))
    assert "fixed" in wrong_key.context["journey_form"].errors["key"][0]
    client.post(reverse("admin:journeys_journeyversion_submit", args=[draft.pk]), {"comment": "ready"})
    draft.refresh_from_db()
    assert draft.status == VersionStatus.IN_REVIEW
    frozen = client.post(reverse("admin:journeys_journeyversion_edit", args=[draft.pk]), editor_post())
    assert frozen.status_code == 302
    assert JourneyVersion.objects.count() == 2  # a new draft; the submitted one did not change
    draft.refresh_from_db()
    assert draft.definition["name"] == "Welcome 2"
    assert JourneyVersion.objects.get(number=2).status == VersionStatus.DRAFT


def test_maker_checker_in_admin(users, shipped) -> None:
    mia, carl = users
    _as(mia).post(NEW, editor_post())
    version = JourneyVersion.objects.get()
    review = reverse("admin:journeys_journeyversion_review", args=[version.pk])
    submit = reverse("admin:journeys_journeyversion_submit", args=[version.pk])
    assert _as(carl).post(submit, {}).status_code == 403  # compliance does not submit
    assert _as(carl).get(NEW).status_code == 403  # nor write journeys
    assert _as(mia).get(review).status_code == 403  # the marketer does not review
    _as(mia).post(submit, {"comment": ""})
    version.refresh_from_db()
    assert version.status == VersionStatus.IN_REVIEW
    rejected = _as(carl).post(review, {"reject": "1", "comment": ""})
    assert "Say why" in rejected.context["form"].non_field_errors()[0]
    approved = _as(carl).post(review, {"approve": "1", "comment": "fine"})
    assert approved.status_code == 302
    version.refresh_from_db()
    assert version.status == VersionStatus.APPROVED and version.journey.live_version == version


def test_once_decided_the_live_version_offers_no_review_and_an_older_one_offers_rollback(
    users, shipped
) -> None:
    """Buttons go once the decision is made: the live version's page and review page offer no
    approve; an older approved version offers approving it again (the rollback)."""
    mia, carl = users
    versions: list[JourneyVersion] = []
    for note in ("first", "second"):
        _as(mia).post(
            NEW if not versions else reverse("admin:journeys_journeyversion_edit", args=[versions[-1].pk]),
            editor_post(change_note=note),
        )
        version = JourneyVersion.objects.order_by("-pk").first()
        assert version is not None
        _as(mia).post(reverse("admin:journeys_journeyversion_submit", args=[version.pk]), {})
        _as(carl).post(reverse("admin:journeys_journeyversion_review", args=[version.pk]), {"approve": "1"})
        versions.append(version)
    older, live = versions
    assert older.pk != live.pk and Journey.objects.get().live_version_id == live.pk
    live_page = (
        _as(carl).get(reverse("admin:journeys_journeyversion_change", args=[live.pk])).content.decode()
    )
    live_review = (
        _as(carl).get(reverse("admin:journeys_journeyversion_review", args=[live.pk])).content.decode()
    )
    assert 'id="journey-review"' not in live_page
    assert 'id="journey-approve"' not in live_review and "nothing to review" in live_review
    older_page = (
        _as(carl).get(reverse("admin:journeys_journeyversion_change", args=[older.pk])).content.decode()
    )
    older_review = (
        _as(carl).get(reverse("admin:journeys_journeyversion_review", args=[older.pk])).content.decode()
    )
    assert "Make live again (roll back)" in older_page and 'id="journey-approve"' in older_review


def test_the_author_cannot_approve_their_own_version(users, shipped) -> None:
    from django.contrib.auth.models import Group

    mia, _ = users
    mia.groups.add(Group.objects.get(name="Compliance"))
    _as(mia).post(NEW, editor_post())
    version = JourneyVersion.objects.get()
    _as(mia).post(reverse("admin:journeys_journeyversion_submit", args=[version.pk]), {})
    review = reverse("admin:journeys_journeyversion_review", args=[version.pk])
    page = _as(mia).get(review)
    assert page.context["own"] is True and 'id="journey-approve"' not in page.content.decode()
    refused = _as(mia).post(review, {"approve": "1"})
    assert refused.status_code == 200 and refused.context["form"].non_field_errors()
    version.refresh_from_db()
    assert version.status == VersionStatus.IN_REVIEW


def test_export_is_what_journeys_export_writes_and_push_reads(users, shipped) -> None:
    mia, carl = users
    _as(mia).post(NEW, editor_post())
    version = JourneyVersion.objects.get()
    response = _as(carl).get(reverse("admin:journeys_journeyversion_export", args=[version.pk]))
    assert response["Content-Disposition"] == 'attachment; filename="welcome-v1.json"'
    exported = json.loads(response.content)
    assert exported == journeys_export(keys=["welcome"])
    [pushed] = journeys_push(document=exported, author=carl)
    assert pushed.definition == version.definition and pushed.number == 2


def test_simulate_page_shows_each_step_and_writes_nothing(users, shipped) -> None:
    from tests.hub.journeys.test_simulate import _rows

    mia, _ = users
    _as(mia).post(NEW, editor_post())
    version = JourneyVersion.objects.get()
    make_contacts(1)
    url = reverse("admin:journeys_journeyversion_simulate", args=[version.pk])
    before = _rows()
    page = _as(mia).post(
        url, {"contact": "cust-1", "events": "+0m signed.up first_name=Ada order_number=A-1"}
    )
    assert _rows() == before
    result = page.context["result"]
    assert [(s.step, s.outcome) for s in result.steps] == [
        ("hello", "sent"),
        ("pause", "waited"),
        ("again", "sent"),
    ]
    assert "Hi Ada, order A-1 is on its way." in page.content.decode()
    # A Marketer may not see contacts: the simulation names the address, not its value.
    assert (
        "+4479" not in page.content.decode() and "to the contact&#x27;s sms address" in page.content.decode()
    )
    seen = _as(users[1]).post(
        url, {"contact": "cust-1", "events": "+0m signed.up first_name=Ada order_number=A-1"}
    )
    assert "+447900000001" in seen.content.decode()  # Compliance may
    unknown = _as(mia).post(url, {"contact": "nobody", "events": "+0m signed.up"})
    assert unknown.context["form"].errors["contact"]
    bad = _as(mia).post(url, {"contact": "cust-1", "events": "signed.up"})
    assert bad.context["form"].errors["events"][0].startswith("line 1:")


def test_diff_between_versions_is_rendered(users, shipped) -> None:
    mia, _ = users
    client = _as(mia)
    client.post(NEW, editor_post())
    first = JourneyVersion.objects.get()
    client.post(
        reverse("admin:journeys_journeyversion_edit", args=[first.pk]), editor_post()
    )  # still a draft
    client.post(reverse("admin:journeys_journeyversion_submit", args=[first.pk]), {})
    client.post(reverse("admin:journeys_journeyversion_edit", args=[first.pk]), editor_post(STEPS[:2]))
    second = JourneyVersion.objects.get(number=2)
    page = client.get(
        reverse("admin:journeys_journeyversion_diff", args=[second.pk]) + f"?against={first.pk}"
    )
    body = page.content.decode()
    assert "<del>- step again: Send email `order.shipped`.</del>" in body
    assert page.context["against"] == first


def test_hostile_text_in_a_definition_is_shown_escaped(users, shipped) -> None:
    """A condition is free text: it reaches the version page, review and diagram escaped."""
    from hub.journeys.services import journey_create, journey_draft_create
    from tests.hub.journeys.conftest import definition

    mia, carl = users
    hostile = "'<script>alert(1)</script>' == event.name"
    value = definition(
        steps=[
            {
                "id": "b",
                "type": "branch",
                "branches": [{"condition": hostile, "next": "hello", "label": "<b>x</b>"}],
            },
            *definition()["steps"],
        ]
    )
    journey = journey_create(key="welcome", name="Welcome", actor=Actor.user(mia.pk))
    version = journey_draft_create(journey=journey, author=mia, definition=value)
    for url, user in (
        (reverse("admin:journeys_journeyversion_change", args=[version.pk]), mia),
        (reverse("admin:journeys_journeyversion_review", args=[version.pk]), carl),
        (reverse("admin:journeys_journeyversion_edit", args=[version.pk]), mia),
    ):
        body = _as(user).get(url).content.decode()
        assert "<script>alert" not in body and "<b>x</b>" not in body
        assert "&lt;script&gt;" in body


def test_a_new_journey_cannot_take_an_existing_key(users, shipped) -> None:
    mia, _ = users
    _as(mia).post(NEW, editor_post())
    again = _as(mia).post(NEW, editor_post(name="Another"))
    assert "already a journey with this key" in again.context["journey_form"].errors["key"][0]
    assert JourneyVersion.objects.count() == 1


def test_conditions_built_from_fields(users, shipped) -> None:
    """No CEL to type: field, operator and value make the condition (strings quoted safely)."""
    from hub.journeys.editor import condition_build

    assert condition_build("cart_total", ">=", "20") == "event.data.cart_total >= 20"
    assert condition_build("contact.attributes.tier", "==", 'gold" || true') == (
        'contact.attributes.tier == "gold\\" || true"'
    )
    mia, _ = users
    steps = [
        {
            "id": "b",
            "type": "branch",
            "if_field": "plan",
            "if_op": "!=",
            "if_value": "free",
            "if_next": "hello",
        },
        STEPS[0],
    ]
    _as(mia).post(NEW, editor_post(steps, when_field="cart_total", when_op=">=", when_value="20"))
    value = JourneyVersion.objects.get().definition
    assert value["trigger"]["condition"] == "event.data.cart_total >= 20"
    assert value["steps"][0]["branches"] == [{"condition": 'event.data.plan != "free"', "next": "hello"}]
    wrong = _as(mia).post(NEW, editor_post(key="other", when_field="contact.tier", when_value="x"))
    assert "'contact.tier' is not a contact field" in wrong.context["journey_form"].errors["when_field"][0]
    both = editor_post(
        key="both", trigger_condition="contact.locale == 'en' || false", when_field="n", when_value="1"
    )
    _as(mia).post(NEW, both)
    assert JourneyVersion.objects.get(journey__key="both").definition["trigger"]["condition"] == (
        "(contact.locale == 'en' || false) && (event.data.n == 1)"
    )
