"""The version editor and review pages, through Django's test client as each role."""

from __future__ import annotations

import re

from django.urls import reverse

from audit.models import AuditRecord
from audit.services import Actor
from templates_app.models import VersionStatus
from templates_app.services import template_version_submit
from tests.templates_app.admin.conftest import editor_post, staff


def url(name, version):
    return reverse(f"admin:templates_app_templateversion_{name}", args=[version.pk])


def _sms_segments(response):
    (sms,) = [v for v in response.json()["variants"] if v["channel"] == "sms"]
    return sms["sms"]["segments"], sms["text"]


def test_preview_renders_the_unsaved_form_with_examples_and_counts_segments(client, marketer, draft):
    client.force_login(marketer)
    short = client.post(url("preview", draft), editor_post(draft))
    assert _sms_segments(short) == (1, "Hi Ada")
    sms_index = [v.channel for v in draft.variants.all()].index("sms")
    long = client.post(url("preview", draft), editor_post(draft, **{f"variants-{sms_index}-text": "x" * 200}))
    assert _sms_segments(long)[0] == 2
    (email,) = [v for v in short.json()["variants"] if v["channel"] == "email"]
    assert email["subject"] == "Hello Ada" and "Hi Ada" in email["html"]


def test_editing_a_draft_is_audited_with_the_note(client, marketer, draft):
    client.force_login(marketer)
    sms_index = [v.channel for v in draft.variants.all()].index("sms")
    response = client.post(
        reverse("admin:templates_app_templateversion_change", args=[draft.pk]),
        editor_post(draft, change_note="Friendlier", **{f"variants-{sms_index}-text": "Hello {{ name }}"}),
    )
    assert response.status_code == 302, response.content
    assert draft.variants.get(channel="sms").text == "Hello {{ name }}"
    record = AuditRecord.objects.get(action="template.version_edited")
    assert record.payload["comment"] == "Friendlier" and record.actor_id == str(marketer.pk)


def test_a_submitted_version_cannot_be_edited_through_the_admin(client, marketer, draft):
    template_version_submit(version=draft, actor=Actor.user(marketer.pk))
    client.force_login(marketer)
    response = client.post(
        reverse("admin:templates_app_templateversion_change", args=[draft.pk]),
        editor_post(draft, **{"variants-0-text": "changed"}),
    )
    assert response.status_code == 403
    assert not draft.variants.filter(text="changed").exists()


def test_submit_page_blocks_on_lint_errors_and_submits_clean_drafts(client, marketer, draft):
    client.force_login(marketer)
    draft.variables.all().delete()
    response = client.post(url("submit", draft), {"comment": "go"})
    assert response.status_code == 200 and b"is used but not declared" in response.content
    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT


def test_author_cannot_approve_even_holding_the_permission(client, draft):
    both = staff("both", "Marketer", "Compliance")
    draft.author = both
    draft.save()
    template_version_submit(version=draft, actor=Actor.user(both.pk))
    client.force_login(both)
    page = client.get(url("review", draft))
    assert b"You cannot review a version you wrote, edited or submitted" in page.content
    assert b'id="tpl-approve"' not in page.content and b'id="tpl-reject"' not in page.content
    response = client.post(url("review", draft), {"comment": "self", "approve": "1"})
    assert (
        response.status_code == 200
        and b"cannot review a version you wrote, edited or submitted" in response.content
    )
    draft.refresh_from_db()
    assert draft.status == VersionStatus.IN_REVIEW and draft.template.live_version is None


def test_marketer_cannot_open_the_review_page(client, marketer, draft):
    template_version_submit(version=draft, actor=Actor.user(marketer.pk))
    client.force_login(marketer)
    assert client.get(url("review", draft)).status_code == 403
    assert client.post(url("review", draft), {"approve": "1"}).status_code == 403


def test_compliance_approves_from_the_queue_and_rejects_with_a_reason(client, marketer, compliance, draft):
    template_version_submit(version=draft, actor=Actor.user(marketer.pk))
    client.force_login(compliance)
    queue = client.get(reverse("admin:templates_app_approvalqueueentry_changelist"))
    assert b"card.ready v1" in queue.content
    no_reason = client.post(url("review", draft), {"comment": "", "reject": "1"})
    assert b"Say why" in no_reason.content
    client.post(url("review", draft), {"comment": "ok", "approve": "1"})
    draft.refresh_from_db()
    assert draft.status == VersionStatus.APPROVED and draft.template.live_version == draft
    assert (
        b"card.ready v1"
        not in client.get(reverse("admin:templates_app_approvalqueueentry_changelist")).content
    )


def test_diff_against_the_live_version(client, marketer, compliance, draft):
    template_version_submit(version=draft, actor=Actor.user(marketer.pk))
    client.force_login(compliance)
    client.post(url("review", draft), {"approve": "1"})
    client.force_login(marketer)
    client.post(url("new_draft", draft))
    v2 = draft.template.versions.get(number=2)
    v2.variants.filter(channel="sms").update(text="Hello there {{ name }}")
    page = client.get(url("diff", v2)).content.decode()
    assert "<del>- [sms/en] text: Hi {{ name }}</del>" in page
    assert "<ins>+ [sms/en] text: Hello there {{ name }}</ins>" in page


def test_the_editor_offers_its_variables_beside_a_preview_with_desktop_and_mobile_widths(
    client, marketer, draft
):
    """Issue 20 point 8: the helpers load from a static file (no inline code, no CDN); the
    reserved names the hub fills come from the server; a frozen version offers no insert."""
    client.force_login(marketer)
    page = client.get(reverse("admin:templates_app_templateversion_change", args=[draft.pk])).content.decode()
    assert 'id="tpl-side"' in page and 'id="tpl-insert"' in page
    assert 'data-reserved="[&quot;unsubscribe_url&quot;]"' in page
    assert (
        'data-preview-width="desktop" aria-pressed="true"' in page and 'data-preview-width="mobile"' in page
    )
    assert "templates_app/editor.js" in page
    # Each variable has its own labelled fields (a table's cells had none: axe "label").
    assert re.search(r'<label[^>]* for="id_variables-0-name"', page)
    assert 'id="id_variables-0-example_helptext"' in page
    template_version_submit(version=draft, actor=Actor.user(marketer.pk))
    frozen = client.get(
        reverse("admin:templates_app_templateversion_change", args=[draft.pk])
    ).content.decode()
    assert 'id="tpl-side"' in frozen and 'id="tpl-insert"' not in frozen
