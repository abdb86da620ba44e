"""Journeys in admin: authoring for non-programmers (issue 17.3), review, and read-only runs.

Versions change only through the services (so maker-checker and the audit hold): the editor
(``editor``) builds a definition from forms and saves it as a draft; submit, approve and
reject are the version services; simulate (``simulate``) reads and writes nothing. Runs and
events are read-only here (the engine changes them).

Who may do what: makers (``submit_journeyversion``, the Marketer role) write, edit and submit;
reviewers (``approve_journeyversion``, Compliance) approve or reject, never their own; anyone
who may view versions reads them, simulates, diffs and exports.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from audit.admin_base import ReadOnlyAdmin, labelled_json
from audit.services import Actor
from hub.contacts.models import Contact
from hub.journeys.definition import InvalidDefinition
from hub.journeys.diagram import journey_svg
from hub.journeys.editor import editor_save, forms_initial
from hub.journeys.events import RunNotCancellable, journey_run_cancel
from hub.journeys.forms import KIND_FIELDS, JourneyForm, ReviewForm, SimulateForm, StepFormSet, SubmitForm
from hub.journeys.lint import journey_lint
from hub.journeys.models import Event, Journey, JourneyRun, JourneyRunEntry, JourneyVersion
from hub.journeys.services.versions import (
    JourneyWorkflowError,
    journey_version_approve,
    journey_version_makers,
    journey_version_reject,
    journey_version_submit,
)
from hub.journeys.simulate import SimulationInputError, events_parse, journey_simulate
from hub.journeys.summaries import journey_story, steps_summaries
from templates_app.models import VersionStatus

MAKE = "journeys.submit_journeyversion"
REVIEW = "journeys.approve_journeyversion"
VIEW = "journeys.view_journeyversion"


def _user(request: HttpRequest) -> User:
    if not isinstance(request.user, User):
        raise PermissionDenied
    return request.user


def words_html(text: str) -> SafeString:
    """A summary or finding with its `quoted` names as <code> (everything else escaped)."""
    parts = escape(text).split("`")
    return mark_safe(  # noqa: S308 - escaped above; only our own <code> tags are added
        "".join(f"<code>{part}</code>" if index % 2 else part for index, part in enumerate(parts))
    )


def _need(request: HttpRequest, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied


class JourneyVersionInline(admin.TabularInline[JourneyVersion, Journey]):
    model = JourneyVersion
    fields = ("number", "status", "trigger_event", "author", "submitted_at", "reviewed_by", "reviewed_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Journey)
class JourneyAdmin(ReadOnlyAdmin):
    list_display = ("key", "name", "live_version", "created_at")
    search_fields = ("key", "name")
    inlines = (JourneyVersionInline,)


def definition_diff(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, str]]:
    """Line by line, in words then as JSON: ``("-", line)`` only in ``old``, ``("+", line)``
    only in ``new``, ``(" ", line)`` in both."""

    def lines(definition: dict[str, Any]) -> list[str]:
        words = [f"story: {journey_story(definition)}"]
        words += [f"step {step_id}: {text}" for step_id, text in steps_summaries(definition)]
        return [*words, "", *json.dumps(definition, indent=2, sort_keys=True).splitlines()]

    out: list[tuple[str, str]] = []
    for line in difflib.ndiff(lines(old), lines(new)):
        if not line.startswith("? "):
            out.append((line[0], line[2:]))
    return out


@admin.register(JourneyVersion)
class JourneyVersionAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "status", "trigger_event", "author", "reviewed_by", "created_at")
    list_filter = ("status",)
    fields = (
        "journey",
        "number",
        "status",
        "author",
        "submitted_at",
        "reviewed_by",
        "reviewed_at",
        "review_comment",
        "actions_links",
        "story",
        "step_list",
        "diagram",
        "lint_list",
    )
    readonly_fields = fields
    change_list_template = "admin/journeys/journeyversion/change_list.html"

    # --- The version page: what it does, in words and as a diagram, and its lint ----------

    @admin.display(description="What you can do")
    def actions_links(self, obj: JourneyVersion) -> SafeString:
        links = [
            ("simulate", "Simulate"),
            ("diff", "Compare with another version"),
            ("export", "Export JSON"),
        ]
        if obj.status == VersionStatus.DRAFT:
            links = [("edit", "Edit this draft"), ("submit", "Submit for review"), *links]
        else:
            links = [("edit", "New draft from this version"), *links]
        if obj.status == VersionStatus.IN_REVIEW:
            links.append(("review", "Review (approve or reject)"))
        elif obj.status == VersionStatus.APPROVED and obj.journey.live_version_id != obj.pk:
            # An older approved version: approving it again is the rollback.
            links.append(("review", "Make live again (roll back)"))
        return format_html_join(
            " · ",
            '<a class="journey-action" id="journey-{}" href="{}">{}</a>',
            (
                (name, reverse(f"admin:journeys_journeyversion_{name}", args=[obj.pk]), label)
                for name, label in links
            ),
        )

    @admin.display(description="In words")
    def story(self, obj: JourneyVersion) -> SafeString:
        return words_html(journey_story(obj.definition))

    @admin.display(description="Steps")
    def step_list(self, obj: JourneyVersion) -> SafeString:
        return format_html(
            "<ol class='journey-steps'>{}</ol>",
            format_html_join(
                "",
                "<li id='step-{}'><b>{}</b>: {}</li>",
                ((step_id, step_id, words_html(text)) for step_id, text in steps_summaries(obj.definition)),
            ),
        )

    @admin.display(description="Diagram")
    def diagram(self, obj: JourneyVersion) -> SafeString:
        return mark_safe(journey_svg(obj.definition))  # noqa: S308 - every text in it is escaped

    @admin.display(description="Lint")
    def lint_list(self, obj: JourneyVersion) -> SafeString:
        return _lint_html(obj.definition)

    # --- Custom pages ----------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        def view(name: str, func: Any) -> URLPattern:
            pattern: URLPattern = path(
                f"<int:pk>/{name}/", self.admin_site.admin_view(func), name=f"journeys_journeyversion_{name}"
            )
            return pattern

        return [
            path("new/", self.admin_site.admin_view(self.new_view), name="journeys_journeyversion_new"),
            view("edit", self.edit_view),
            view("submit", self.submit_view),
            view("review", self.review_view),
            view("simulate", self.simulate_view),
            view("diff", self.diff_view),
            view("export", self.export_view),
            *super().get_urls(),
        ]

    def _version(self, request: HttpRequest, pk: int, perm: str = VIEW) -> JourneyVersion:
        _need(request, perm)
        return get_object_or_404(JourneyVersion.objects.select_related("journey"), pk=pk)

    def _render(self, request: HttpRequest, page: str, title: str, **context: Any) -> HttpResponse:
        version = context.get("version")
        return TemplateResponse(
            request,
            f"admin/journeys/journeyversion/{page}.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": title,
                "change_url": reverse("admin:journeys_journeyversion_change", args=[version.pk])
                if version
                else "",
                **context,
            },
        )

    def _editor(
        self,
        request: HttpRequest,
        *,
        journey: Journey | None,
        draft: JourneyVersion | None,
        source: JourneyVersion | None,
    ) -> HttpResponse:
        if request.method == "POST":
            data = request.POST.copy()
            adding = "_add_step" in data
            if adding:
                total = int(data.get("steps-TOTAL_FORMS", "0") or 0)
                data["steps-TOTAL_FORMS"] = str(total + 1)
                data[f"steps-{total}-ORDER"] = str(total + 1)  # the new step comes last
            journey_form = JourneyForm(data)
            formset = StepFormSet(data, prefix="steps")
            if not adding and journey_form.is_valid() and formset.is_valid():
                result = editor_save(
                    journey_form=journey_form,
                    formset=formset,
                    user=_user(request),
                    journey=journey,
                    draft=draft,
                )
                if result.version is not None:
                    messages.success(request, f"Saved {result.version} as a draft.")
                    return HttpResponseRedirect(
                        reverse("admin:journeys_journeyversion_change", args=[result.version.pk])
                    )
            show_errors = not adding
        else:
            initial: tuple[dict[str, Any], list[dict[str, Any]]] = (
                forms_initial(source.definition)
                if source is not None
                else ({"reentry_policy": "once"}, [{"ORDER": 1}])
            )
            journey_form = JourneyForm(initial=initial[0])
            formset = StepFormSet(initial=initial[1], prefix="steps")
            show_errors = False
        title = f"Edit {draft}" if draft else (f"New draft of {journey.key}" if journey else "New journey")
        return self._render(
            request,
            "editor",
            title,
            journey_form=journey_form,
            formset=formset,
            show_errors=show_errors,
            kind_fields=json.dumps(KIND_FIELDS),
            version=draft or source,
            journey=journey,
        )

    def new_view(self, request: HttpRequest) -> HttpResponse:
        _need(request, MAKE)
        return self._editor(request, journey=None, draft=None, source=None)

    def edit_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """A draft is edited in place; any other version is the start of a new draft."""
        version = self._version(request, pk, MAKE)
        draft = version if version.status == VersionStatus.DRAFT else None
        return self._editor(request, journey=version.journey, draft=draft, source=version)

    def submit_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = self._version(request, pk, MAKE)
        form = SubmitForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                journey_version_submit(
                    version=version, actor=Actor.user(request.user.pk), comment=form.cleaned_data["comment"]
                )
            except (JourneyWorkflowError, InvalidDefinition) as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"{version} was sent to compliance for approval.")
                return HttpResponseRedirect(reverse("admin:journeys_journeyversion_change", args=[pk]))
        return self._render(
            request,
            "submit",
            f"Submit {version} for review",
            version=version,
            form=form,
            story=words_html(journey_story(version.definition)),
            lint=_lint_html(version.definition),
        )

    def review_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Compliance: read the version, its lint and its diff against the live one; decide."""
        version = self._version(request, pk, REVIEW)
        form = ReviewForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            comment = form.cleaned_data["comment"]
            try:
                if "reject" in request.POST:
                    journey_version_reject(version=version, reviewer=_user(request), comment=comment)
                    messages.success(
                        request, f"{version} was rejected; the author has been given your reason."
                    )
                else:
                    journey_version_approve(version=version, approver=_user(request), comment=comment)
                    messages.success(request, f"{version} is now live.")
            except JourneyWorkflowError as exc:
                form.add_error(None, str(exc))
            else:
                return HttpResponseRedirect(reverse("admin:journeys_journeyversion_change", args=[pk]))
        live = version.journey.live_version
        return self._render(
            request,
            "review",
            f"Review {version}",
            version=version,
            form=form,
            story=words_html(journey_story(version.definition)),
            steps=[(step_id, words_html(text)) for step_id, text in steps_summaries(version.definition)],
            diagram=mark_safe(journey_svg(version.definition)),  # noqa: S308 - escaped inside
            lint=_lint_html(version.definition),
            diff=definition_diff(live.definition, version.definition)
            if live and live.pk != version.pk
            else None,
            live_version=live,
            own=request.user.pk in journey_version_makers(version),
            # Buttons only where a decision is still to be made: a version in review, or an older
            # approved one (approving it again is the rollback). The live one has been decided.
            reviewable=version.status == VersionStatus.IN_REVIEW
            or (version.status == VersionStatus.APPROVED and not (live and live.pk == version.pk)),
        )

    def simulate_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Run the version for a contact and a sequence of events; nothing is sent or written."""
        version = self._version(request, pk)
        form = SimulateForm(request.POST if request.method == "POST" else None)
        result = None
        if request.method == "POST" and form.is_valid():
            contact = Contact.objects.filter(external_id=form.cleaned_data["contact"].strip()).first()
            if contact is None:
                form.add_error("contact", "There is no contact with this external id.")
            else:
                try:
                    events = events_parse(form.cleaned_data["events"])
                except SimulationInputError as exc:
                    form.add_error("events", str(exc))
                else:
                    result = journey_simulate(
                        version.definition, contact=contact, events=events, start=timezone.now()
                    )
        # The contact's addresses are theirs to see who may see contacts (not Marketers).
        show_addresses = request.user.has_perm("contacts.view_contact")
        if result is not None and not show_addresses:
            for step in result.steps:
                for message in step.messages:
                    message["to"] = f"the contact's {message['channel']} address" if message["to"] else ""
        return self._render(
            request, "simulate", f"Simulate {version}", version=version, form=form, result=result
        )

    def diff_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = self._version(request, pk)
        others = version.journey.versions.exclude(pk=version.pk).order_by("-number")
        against_id = request.GET.get("against", "")
        against = (others.filter(pk=against_id).first() if against_id.isdigit() else None) or (
            version.journey.live_version if version.journey.live_version_id != version.pk else others.first()
        )
        diff = definition_diff(against.definition, version.definition) if against else None
        return self._render(
            request,
            "diff",
            f"Changes in {version}",
            version=version,
            others=others,
            against=against,
            diff=diff,
        )

    def export_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The version as ``journeys export`` writes it (``journeys push`` reads it back)."""
        version = self._version(request, pk)
        body = json.dumps({"journeys": [version.definition]}, indent=2, ensure_ascii=False) + "\n"
        response = HttpResponse(body, content_type="application/json")
        response["Content-Disposition"] = (
            f'attachment; filename="{version.journey.key}-v{version.number}.json"'
        )
        return response


def _lint_html(definition: dict[str, Any]) -> SafeString:
    findings = journey_lint(definition)
    if not findings:
        return format_html("<p class='journey-lint-clean'>{}</p>", "No findings.")
    return format_html(
        "<ul class='journey-lint' style='margin: 0; padding-left: 1.2em'>{}</ul>",
        format_html_join(
            "",
            "<li class='journey-lint-{}'><b>{}</b> {}{}</li>",
            (
                (
                    f.severity,
                    f.severity,
                    format_html("<a href='#step-{}'>step {}</a>: ", f.step, f.step) if f.step else "",
                    words_html(f.message),
                )
                for f in findings
            ),
        ),
    )


class JourneyRunEntryInline(admin.TabularInline[JourneyRunEntry, JourneyRun]):
    model = JourneyRunEntry
    fields = ("at", "kind", "step", "detail_rows")
    readonly_fields = fields
    extra = 0
    can_delete = False
    detail_rows = labelled_json("detail", "detail")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(JourneyRun)
class JourneyRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "journey", "version", "contact", "status", "step", "wake_at", "created_at")
    list_filter = ("status",)
    search_fields = ("contact__external_id",)
    inlines = (JourneyRunEntryInline,)
    actions = ["cancel_selected"]
    exclude = ("waiting_for", "state")
    readonly_fields = ("waiting_for_rows", "state_rows")
    waiting_for_rows = labelled_json("waiting_for", "waiting for")
    state_rows = labelled_json("state", "state")

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("journeys.cancel_journeyrun")

    @admin.action(description="Cancel selected runs", permissions=["cancel"])
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[JourneyRun]) -> None:
        """The same service as ``POST /api/v1/journey-runs/{id}/cancel``: each run ends where it
        is, with a timeline entry and an audit record naming who cancelled it."""
        cancelled, ended = 0, 0
        for run in queryset:
            try:
                journey_run_cancel(run=run, actor=Actor.user(request.user.pk))
                cancelled += 1
            except RunNotCancellable:
                ended += 1
        if cancelled:
            self.message_user(request, f"Cancelled {cancelled} run(s).", messages.SUCCESS)
        if ended:
            self.message_user(
                request, f"{ended} run(s) had already ended: left as they were.", messages.WARNING
            )


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("name", "contact", "event_id", "occurred_at", "received_at")
    search_fields = ("name", "contact__external_id", "event_id")
    exclude = ("data", "result")
    readonly_fields = ("data_rows", "result_rows")
    data_rows = labelled_json("data", "data")
    result_rows = labelled_json("result", "what it did")
