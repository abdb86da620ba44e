"""Authorisation matrix of the admin (issue 9, item 11): every admin page, every role.

``MODELS`` says, for every registered ModelAdmin, which roles may view (changelist, change
page read-only, history), add, change (save) and delete; ``CUSTOM`` says who may open each
custom admin view; ``ACTIONS`` who is offered each changelist action; ``APPS`` who sees each
app's index. The tables must cover exactly what the admin URL resolver and the ModelAdmins
list, so a page or action added later without an entry fails
``test_every_admin_page_is_in_the_matrix``. Every role then opens every page (GET) and gets
200 where the table says so and 403 (or 404 for an app index) elsewhere, is offered exactly
its actions, and every write it may not make (add, change, delete, custom POSTs) is refused
with 403 and changes nothing.

Roles: M Marketer, C Compliance, S Support, O Operator (the groups of ``hub.roles``), N a
staff user in no group, A a superuser (what no one at all may do, e.g. edit the audit trail).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib import admin
from django.db.models import Model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.figures import Record

ROLES = {"M": "Marketer", "C": "Compliance", "S": "Support", "O": "Operator", "N": None, "A": "superuser"}


@dataclass(frozen=True)
class Perms:
    """Role letters allowed to: view (changelist, change page, history), add, change, delete."""

    view: str
    add: str = "A"
    change: str = "A"
    delete: str = "A"


# Every ModelAdmin. A superuser (A) may do what the ModelAdmin does not forbid to everyone.
MODELS: dict[str, Perms] = {
    "audit.auditrecord": Perms("CA", add="", change="", delete=""),  # append-only
    "audit.auditcheckpoint": Perms("COA", add="", change="", delete=""),
    "templates_app.approvalqueueentry": Perms("CA", add="", change="", delete=""),
    "templates_app.templateapproval": Perms("MCA", add="", change="", delete=""),
    "templates_app.template": Perms("MCA", add="MA", change="MA"),
    "templates_app.emaillayout": Perms("MCA", add="MA", change="MA"),
    "templates_app.templateversion": Perms("MCA", add="", change="MA", delete=""),  # a draft
    # Each user's own test addresses (see OWN_ROWS), removed by an audited action.
    "templates_app.staffaddress": Perms("MA", add="MA", change="", delete=""),
    "contacts.contact": Perms("CSA", add="", change="", delete=""),  # erasure is an action
    "contacts.consententry": Perms("CSA", add="", change="", delete=""),  # a ledger
    "contacts.suppression": Perms("CA", add="CA", change="", delete=""),  # lifted, not deleted
    "apikeys.apikey": Perms("OA", add="OA", change="OA"),  # secret shown once, on the add answer
    # The inbox: read here; replies, links and simulations are custom views (CUSTOM).
    "contacts.inboundmessage": Perms("CSA", add="", change="", delete=""),
    "providers.providerconfig": Perms("OA", add="OA", change="OA"),
    "providers.smskeywordreplies": Perms("OA", add="OA", change="OA"),
    "providers.sandboxoutboxentry": Perms("MOA", add="", change=""),
    "messaging.notification": Perms("CSOA", add="", change="", delete=""),
    "messaging.message": Perms("CSOA", add="", change="", delete=""),
    "messaging.fallbackpolicy": Perms("MA", add="MA", change="MA", delete="MA"),
    "compliance.rule": Perms("CA", add="CA", change="CA", delete=""),  # versioned, never deleted
    "workspace.workspacemessage": Perms("CA", add="", change="", delete=""),
    "workspace.report": Perms("MCOA", add="", change="", delete=""),
    "workspace.retentionpolicy": Perms("COA", add="CA", change="CA", delete=""),
    "workspace.contacttimeline": Perms("SA", add="", change="", delete=""),
    "auth.user": Perms("A"),
    "auth.group": Perms("A"),
    "broadcasts.broadcast": Perms("MOA", add="", change="MOA", delete=""),  # CSV upload adds
    "callbacks.callbackendpoint": Perms("OA", change="OA"),
    "callbacks.callbackdelivery": Perms("OA", add="", change=""),
    # Notify-format keys: created in admin (shown once), nothing on them editable by operators.
    "notify.notifykey": Perms("OA", add="OA"),
    "notify.smssender": Perms("OA", add="OA", change="OA"),
    "notify.emailreplyto": Perms("OA", add="OA", change="OA"),
    # Journeys change through their services (maker-checker, the engine): read-only here.
    "journeys.journey": Perms("MCA", add="", change="", delete=""),
    "journeys.journeyversion": Perms("MCA", add="", change="", delete=""),
    "journeys.journeyrun": Perms("MCSA", add="", change="", delete=""),
    "journeys.event": Perms("CA", add="", change="", delete=""),
    # Issue 18: the price table (operators keep it; marketers see what a send costs).
    "tracking.price": Perms("MOA", add="OA", change="OA", delete="OA"),
}

# Every custom admin view (URL name -> the object its URL names, the roles that may open it).
CUSTOM: dict[str, tuple[str, str]] = {
    "audit_auditrecord_verify": ("", "CA"),
    "templates_app_template_new_draft": ("templates_app.template", "MA"),
    "templates_app_template_import": ("", "MA"),
    "templates_app_templateversion_preview": ("templates_app.templateversion", "MCA"),
    "templates_app_templateversion_submit": ("templates_app.templateversion", "MA"),
    "templates_app_templateversion_review": ("templates_app.templateversion", "CA"),
    "templates_app_templateversion_diff": ("templates_app.templateversion", "MCA"),
    "templates_app_templateversion_test_send": ("templates_app.templateversion", "MA"),
    # Issue 20: a test send's outcome; only the sender's own (others get 403), see test_test_send.
    "templates_app_templateversion_test_result": ("templates_app.templateversion", "MA"),
    "templates_app_templateversion_new_draft": ("templates_app.templateversion", "MA"),
    "templates_app_staffaddress_verify": ("templates_app.staffaddress", "MA"),
    "compliance_rule_preview": ("compliance.rule", "CA"),
    "workspace_workspacemessage_export": ("", "CA"),
    "workspace_workspacemessage_evidence": ("", "CA"),
    "workspace_workspacemessage_template_evidence": ("", "CA"),
    "broadcasts_broadcast_upload": ("", "MA"),
    "broadcasts_broadcast_map": ("broadcasts.broadcast", "MA"),
    "broadcasts_broadcast_report": ("broadcasts.broadcast", "MA"),
    "broadcasts_broadcast_progress": ("broadcasts.broadcast", "MOA"),
    # Issue 20: audiences a marketer builds (contacts from a CSV, a segment from fields).
    "broadcasts_broadcast_import_contacts": ("", "MA"),
    "broadcasts_broadcast_import_report": ("contacts.contactimport", "MA"),
    "broadcasts_broadcast_segment": ("", "MA"),
    "workspace_report_operator": ("", "OA"),
    "workspace_report_journeys": ("", "MCA"),
    "auth_user_password_change": ("auth.user", "A"),
    # Journeys (issue 17.3): makers write and submit, compliance reviews, all who see read.
    "journeys_journeyversion_new": ("", "MA"),
    "journeys_journeyversion_edit": ("journeys.journeyversion", "MA"),
    "journeys_journeyversion_submit": ("journeys.journeyversion", "MA"),
    "journeys_journeyversion_review": ("journeys.journeyversion", "CA"),
    "journeys_journeyversion_simulate": ("journeys.journeyversion", "MCA"),
    "journeys_journeyversion_diff": ("journeys.journeyversion", "MCA"),
    "journeys_journeyversion_export": ("journeys.journeyversion", "MCA"),
    "contacts_inboundmessage_reply": ("contacts.inboundmessage", "SA"),
    "contacts_inboundmessage_link": ("contacts.inboundmessage", "SA"),
    "contacts_inboundmessage_simulate": ("", "SA"),
}

# Every admin action but delete_selected (which follows ``Perms.delete``): who is offered it.
ACTIONS: dict[str, dict[str, str]] = {
    "templates_app.template": {"export_selected": "MCA"},
    "templates_app.staffaddress": {"remove_addresses": "MA"},
    "contacts.contact": {"erase_selected": "CA"},
    "contacts.suppression": {"lift_selected": "CA"},
    "apikeys.apikey": {"revoke_keys": "OA"},
    "journeys.journeyrun": {"cancel_selected": "MSA"},
    "providers.providerconfig": {"restore": "OA"},
    "broadcasts.broadcast": {"pause_selected": "MOA", "resume_selected": "MOA", "cancel_selected": "MOA"},
    "callbacks.callbackendpoint": {"resume": "OA", "rotate_secret": "OA"},
}

# Who sees each app's index page (404 for the others, as if it did not exist).
APPS: dict[str, str] = {
    "audit": "COA",
    "templates_app": "MCA",
    "contacts": "CSA",
    "apikeys": "OA",
    "providers": "MOA",
    "messaging": "MCSOA",
    "compliance": "CA",
    "workspace": "MCSOA",
    "auth": "A",
    "broadcasts": "MOA",
    "callbacks": "OA",
    "notify": "OA",
    "journeys": "MCSA",
    "tracking": "MOA",
}

# Django's own pages, the same for every staff user whatever the role.
SITE = {"index", "login", "logout", "password_change", "password_change_done", "autocomplete", "jsi18n"}
SITE |= {"view_on_site", "app_list"}
MODEL_VIEWS = ("changelist", "add", "change", "history", "delete")
# Change pages that are read-only views of their own (no form): a POST shows the page again
# and saves nothing, which the row snapshot at the end of each test checks.
READ_ONLY_PAGES = {"workspace.workspacemessage", "workspace.contacttimeline", "contacts.inboundmessage"}
# Admins that list only the logged-in user's own rows: each role gets a row of its own.
OWN_ROWS = {"templates_app.staffaddress"}


def _own_rows(user: Any) -> dict[str, Model]:
    from django.utils import timezone

    from templates_app.models import StaffAddress

    address = StaffAddress.objects.create(
        user=user, channel="sms", address=f"+4479000{user.pk:05d}", verified_at=timezone.now()
    )
    return {"templates_app.staffaddress": address}


def _names(patterns: list[Any]) -> set[str]:
    names: set[str] = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            names |= _names(pattern.url_patterns)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(pattern.name)
    return names


def admin_url_names() -> set[str]:
    resolver = next(
        p for p in get_resolver().url_patterns if isinstance(p, URLResolver) and p.namespace == "admin"
    )
    return _names(resolver.url_patterns)


def _superuser_request() -> Any:
    """A request from a superuser (not saved: asking a ModelAdmin needs no database)."""
    from django.contrib.auth import get_user_model
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = get_user_model()(is_superuser=True, is_staff=True, is_active=True)
    return request


def test_every_admin_page_is_in_the_matrix() -> None:
    registered = {m._meta.label_lower for m in admin.site._registry}
    assert set(MODELS) == registered
    assert set(APPS) == {label.split(".")[0] for label in registered}
    standard = {f"{label.replace('.', '_')}_{view}" for label in MODELS for view in MODEL_VIEWS}
    assert admin_url_names() == standard | set(CUSTOM) | SITE
    actions = {
        (model._meta.label_lower, name)
        for model, model_admin in admin.site._registry.items()
        for name in model_admin.get_actions(_superuser_request())
        if name != "delete_selected"
    }
    assert actions == {(label, name) for label, names in ACTIONS.items() for name in names}


def _offered(page: Any) -> set[str]:
    """The actions a changelist offers (none where it has no action form)."""
    form = (page.context or {}).get("action_form")
    return {name for name, _ in form.fields["action"].choices if name} if form is not None else set()


def _row(model: type[Model]) -> Model:
    """The first object the model's admin lists (to a superuser)."""
    row: Model | None = admin.site._registry[model].get_queryset(_superuser_request()).order_by("pk").first()
    assert row is not None, f"admin_objects makes no {model._meta.label}: add one"
    return row


@pytest.fixture
def admin_objects(db: None) -> dict[str, Model]:
    """One object behind every admin page (a draft version, so that it is editable)."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from audit.models import AuditCheckpoint
    from audit.services import Actor
    from hub.broadcasts.models import AudienceKind, Broadcast
    from hub.callbacks.models import CallbackDelivery, CallbackEndpoint
    from hub.contacts.inbound import sms_inbound_receive
    from hub.contacts.services import suppression_add
    from hub.messaging.models import FallbackPolicy
    from hub.notify.keys import notify_key_create
    from hub.notify.models import EmailReplyTo, SmsSender
    from hub.providers.models import ProviderBackend, ProviderConfig, SandboxOutboxEntry, SmsKeywordReplies
    from hub.tracking.models import Price
    from hub.workspace.models import RetentionPolicy
    from templates_app.models import EmailLayout, TemplateVersion, VersionStatus
    from templates_app.services import template_draft_from
    from tests.factories import grant_consent, make_contacts, make_live_template, make_message
    from tests.hub.journeys.conftest import definition, live_journey, send_event
    from tests.hub.security.api import CALLBACK_A, make_key

    template = make_live_template()
    assert template.live_version is not None
    author = get_user_model().objects.get(username="author-order.shipped")
    draft = template_draft_from(version=template.live_version, author=author)
    in_review = template_draft_from(version=template.live_version, author=author)
    TemplateVersion.objects.filter(pk=in_review.pk).update(status=VersionStatus.IN_REVIEW)
    EmailLayout.objects.create(name="house", postal_address="1 High St")
    contact = make_contacts(1)[0]
    grant_consent(contact, "email")
    suppression_add(channel="email", address="gone@example.com", reason="manual", actor=Actor.system())
    key = make_key("admin-matrix")
    ProviderConfig.objects.create(name="sandbox-sms", channel="sms", backend=ProviderBackend.SANDBOX)
    SmsKeywordReplies.objects.create()
    message = make_message(template=template, contact=contact)
    SandboxOutboxEntry.objects.create(
        provider="sandbox-sms",
        channel="sms",
        provider_message_id="SBX-1",
        message_id=str(message.id),
        to="+447900000001",
    )
    FallbackPolicy.objects.create(template=template, channel="sms", wait_seconds=600)
    RetentionPolicy.objects.create(channel="sms", days=30)
    Price.objects.create(channel="sms", country_prefix="44", price="0.04")
    broadcast = Broadcast.objects.create(
        name="csv", template=template, audience_kind=AudienceKind.CSV, csv_text="external_id\ncust-1\n"
    )
    endpoint = CallbackEndpoint.objects.create(api_key=key.api_key, url=CALLBACK_A)
    CallbackDelivery.objects.create(endpoint=endpoint, events={"events": []}, next_attempt_at=timezone.now())
    AuditCheckpoint.objects.create(seq=0, hash="0" * 64, created_at=timezone.now())
    notify_key_create(name="admin-matrix-notify")
    SmsSender.objects.create(sms_sender="Example")
    EmailReplyTo.objects.create(email_address="help@example.com")
    live_journey(definition())  # its trigger sends order.shipped by SMS
    send_event("signed.up", contact=contact.external_id)  # an event and the run it starts
    sms_inbound_receive(  # the inbox: a reply from an unknown sender
        from_number="+447700900777", to_number="", body="hi", provider="twilio", provider_message_id="SM-m"
    )
    objects = {
        m._meta.label_lower: _row(m) for m in admin.site._registry if m._meta.label_lower not in OWN_ROWS
    }
    objects |= _own_rows(author)
    objects["templates_app.templateversion"] = draft
    objects["broadcasts.broadcast"] = broadcast
    from hub.contacts.models import ContactImport

    objects["contacts.contactimport"] = ContactImport.objects.create(csv_text="external_id\ncust-1\n")
    return objects


def _staff(letter: str) -> Any:
    from tests.factories import make_staff_user

    return make_staff_user(ROLES[letter], username=f"matrix-{letter}")


def _rows() -> dict[str, list[tuple[Any, ...]]]:
    """Every row behind an admin page, but the audit trail (reading some pages is audited) and
    when a user last logged in."""
    models = [m for m in admin.site._registry if not m._meta.proxy and m._meta.app_label != "audit"]
    return {
        m._meta.label: list(
            m._default_manager.order_by("pk").values_list(
                *(f.attname for f in m._meta.concrete_fields if f.name != "last_login")
            )
        )
        for m in models
    }


def _wrong(got: int, allowed: bool, denied: int = 403) -> bool:
    return (got >= 400) if allowed else got != denied


@pytest.mark.parametrize("letter", ROLES)
def test_each_role_opens_exactly_its_pages(
    client: Client, admin_objects: dict[str, Model], letter: str, figure: Record
) -> None:
    user = _staff(letter)
    client.force_login(user)
    admin_objects = {**admin_objects, **_own_rows(user)}
    before = _rows()
    wrong: list[tuple[str, str, int]] = []
    asked = 0

    def check(
        what: str, path: str, allowed: bool, *, post: dict[str, Any] | None = None, denied: int = 403
    ) -> Any:
        nonlocal asked
        asked += 1
        response = client.post(path, post) if post is not None else client.get(path)
        if _wrong(response.status_code, allowed, denied):
            wrong.append((what, "POST" if post is not None else "GET", response.status_code))
        return response

    for label, perms in MODELS.items():
        prefix = f"admin:{label.replace('.', '_')}"
        pk = [admin_objects[label].pk]
        sees = letter in perms.view
        listed = check(f"{label} changelist", reverse(f"{prefix}_changelist"), sees)
        offered = {a for a, roles in ACTIONS.get(label, {}).items() if letter in roles}
        offered |= {"delete_selected"} if letter in perms.delete else set()
        if sees and _offered(listed) != offered:
            wrong.append((f"{label} actions", str(sorted(_offered(listed))), len(offered)))
        check(f"{label} add", reverse(f"{prefix}_add"), letter in perms.add)
        page = check(f"{label} change", reverse(f"{prefix}_change", args=pk), sees)
        may_save = (page.context or {}).get("has_change_permission") if sees else None
        if may_save is not None and may_save != (letter in perms.change):
            wrong.append((f"{label} change", "may save", may_save))
        check(f"{label} history", reverse(f"{prefix}_history", args=pk), sees)
        check(f"{label} delete", reverse(f"{prefix}_delete", args=pk), letter in perms.delete)
        if letter not in perms.add:
            check(f"{label} add", reverse(f"{prefix}_add"), False, post={})
        if letter not in perms.change and not (sees and label in READ_ONLY_PAGES):
            check(f"{label} change", reverse(f"{prefix}_change", args=pk), False, post={})
        if letter not in perms.delete:
            check(f"{label} delete", reverse(f"{prefix}_delete", args=pk), False, post={"post": "yes"})
    for name, (label, roles) in CUSTOM.items():
        path = reverse(f"admin:{name}", args=[admin_objects[label].pk] if label else [])
        check(name, path, letter in roles)
        if letter not in roles:
            check(name, path, False, post={})
    for app, roles in APPS.items():
        check(f"{app} index", reverse("admin:app_list", args=[app]), letter in roles, denied=404)
    check("index", reverse("admin:index"), True)
    figure("admin requests", asked)
    figure("answers not as the tables say", len(wrong))
    assert wrong == []
    assert _rows() == before


@pytest.mark.django_db
def test_seeing_a_list_is_not_enough_to_run_its_actions(
    client: Client, admin_objects: dict[str, Model]
) -> None:
    """A staff user holding only ``view_<model>`` (a read-only role someone may define) runs
    no action: each needs its own permission, so nothing changes and nothing is audited."""
    from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
    from django.contrib.auth.models import Permission
    from django.contrib.messages import SUCCESS, get_messages

    from audit.models import AuditRecord
    from tests.factories import make_staff_user

    viewer = make_staff_user(None, username="viewer")
    for label in ACTIONS:
        app_label, model = label.split(".")
        viewer.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=f"view_{model}")
        )
    before, audited = _rows(), AuditRecord.objects.count()
    ran = []
    for label, names in ACTIONS.items():
        path = reverse(f"admin:{label.replace('.', '_')}_changelist")
        for name in names:
            client = Client()  # a fresh session: no message left over from the previous action
            client.force_login(viewer)
            response = client.post(path, {"action": name, ACTION_CHECKBOX_NAME: [admin_objects[label].pk]})
            succeeded = any(m.level == SUCCESS for m in get_messages(response.wsgi_request))
            if succeeded or response.has_header("Content-Disposition"):
                ran.append((label, name))
    assert ran == []
    assert _rows() == before and AuditRecord.objects.count() == audited
