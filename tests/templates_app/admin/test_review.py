"""Issue 20, point 4: review that works. The queue's links open the review page (never the
dead end of raw lint JSON), the author's note reaches the reviewer, the changes are shown side
by side with word-level highlights, and the buttons go once a decision is refused or made."""

from __future__ import annotations

import re

from django.urls import reverse

from audit.services import Actor
from templates_app.models import VersionStatus
from templates_app.services import template_version_submit
from tests.templates_app.admin.conftest import staff

QUEUE = "admin:templates_app_approvalqueueentry_changelist"


def url(name, version):
    return reverse(f"admin:templates_app_templateversion_{name}", args=[version.pk])


def test_every_queue_link_to_a_version_opens_its_review_page(client, marketer, compliance, draft):
    """The "Why" example: the version link in the queue led to a dead end (lint as JSON, no
    content, no approve button)."""
    template_version_submit(version=draft, actor=Actor.user(marketer.pk))
    client.force_login(compliance)
    queue = client.get(reverse(QUEUE)).content.decode()
    assert "1 version waiting" in queue
    links = set(re.findall(rf'href="([^"]*/{draft.pk}/[^"]*)"', queue))
    assert links == {url("review", draft)}
    old_link = reverse("admin:templates_app_approvalqueueentry_change", args=[draft.pk])
    response = client.get(old_link)
    assert response.status_code == 302 and response["Location"] == url("review", draft)
    page = client.get(url("review", draft)).content.decode()
    assert 'id="tpl-approve"' in page and 'id="tpl-reject"' in page


def test_the_queue_fits_its_columns_and_says_under_a_minute(client, marketer, compliance, draft):
    """At 1,280 px the queue's Review button fell off the table (a "submitted at" column beside
    "waiting"), and a fresh submission read "0 minutes" (both seen on the screenshots)."""
    template_version_submit(version=draft, actor=Actor.user(marketer.pk))
    client.force_login(compliance)
    queue = client.get(reverse(QUEUE)).content.decode()
    assert "column-submitted_at" not in queue and "column-age" in queue
    assert '<td class="field-age">under a minute</td>' in queue


def test_the_authors_note_reaches_the_reviewer(client, marketer, compliance, draft):
    template_version_submit(
        version=draft, actor=Actor.user(marketer.pk), comment="New greeting; legal saw the wording."
    )
    client.force_login(compliance)
    page = client.get(url("review", draft)).content.decode()
    assert 'id="tpl-author-note">New greeting; legal saw the wording.<' in page


def test_changes_are_shown_side_by_side_word_by_word_not_as_html_source(client, marketer, compliance, draft):
    template_version_submit(version=draft, actor=Actor.user(marketer.pk))
    client.force_login(compliance)
    client.post(url("review", draft), {"approve": "1"})
    client.force_login(marketer)
    client.post(url("new_draft", draft))
    v2 = draft.template.versions.get(number=2)
    v2.variants.filter(channel="sms").update(text="Hello there {{ name }}")
    v2.variants.filter(channel="email").update(html="<p>Welcome {{ name }}</p>")
    template_version_submit(version=v2, actor=Actor.user(marketer.pk))
    client.force_login(staff("carla", "Compliance"))
    page = client.get(url("review", v2)).content.decode()
    (sms,) = re.findall(r'<section class="tpl-compare-variant" data-channel="sms".*?</section>', page, re.S)
    assert "<del>Hi</del>" in sms and "<ins>Hello there</ins>" in sms
    assert "Ada" in sms  # rendered with the example values, as a recipient sees it
    (email,) = re.findall(
        r'<section class="tpl-compare-variant" data-channel="email".*?</section>', page, re.S
    )
    assert email.count("<iframe") == 2 and "Welcome Ada" in email and 'class="tpl-changed"' in email


def test_the_buttons_go_once_the_decision_is_made(client, marketer, compliance, draft):
    template_version_submit(version=draft, actor=Actor.user(marketer.pk))
    client.force_login(compliance)
    client.post(url("review", draft), {"comment": "fine", "approve": "1"})
    draft.refresh_from_db()
    assert draft.status == VersionStatus.APPROVED
    page = client.get(url("review", draft)).content.decode()
    assert 'id="tpl-approve"' not in page and 'id="tpl-reject"' not in page
    assert "Decided by colin" in page and "fine" in page


def test_a_rejected_version_shows_no_buttons(client, marketer, compliance, draft):
    template_version_submit(version=draft, actor=Actor.user(marketer.pk))
    client.force_login(compliance)
    client.post(url("review", draft), {"comment": "wrong price", "reject": "1"})
    page = client.get(url("review", draft)).content.decode()
    assert 'id="tpl-review-form"' not in page and "wrong price" in page


def test_the_decision_line_ends_with_one_full_stop(client, marketer, compliance, draft):
    """ "Decided by colin on Dec. 7, 2026, 2:20 a.m.." (seen on the screenshots)."""
    template_version_submit(version=draft, actor=Actor.user(marketer.pk))
    client.force_login(compliance)
    client.post(url("review", draft), {"comment": "", "approve": "1"})
    page = client.get(url("review", draft)).content.decode()
    line = re.search(r'<p id="tpl-decision">([^<]*)</p>', page)
    assert line is not None and line.group(1).startswith("Decided by colin on ")
    assert line.group(1).endswith(".") and not line.group(1).endswith("..")
