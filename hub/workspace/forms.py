"""Search forms of the workspace pages (bad input is a form error, never a crash)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone

from hub.messaging.models import BlockReason, MessageStatus
from hub.workspace.reports import ReportPeriodRefused, report_period
from hub.workspace.search import MessageFilters
from hub.workspace.timeline import TimelineFilters

CHANNELS = [("", "any"), ("sms", "SMS"), ("email", "Email"), ("push", "Push")]
DATE = forms.DateInput(attrs={"type": "date"})
# The days a search, report or timeline may name: 9999-12-31 has no next day to count to.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2999, 12, 31)
DAY_RANGE = f"Enter a day between {FIRST_DAY} and {LAST_DAY}."


def day_field(**kwargs: Any) -> forms.DateField:
    """An optional day within FIRST_DAY..LAST_DAY (a form error otherwise, never a 500)."""
    bounds = [MinValueValidator(FIRST_DAY, DAY_RANGE), MaxValueValidator(LAST_DAY, DAY_RANGE)]
    return forms.DateField(required=False, widget=DATE, validators=bounds, **kwargs)


class MessageSearchForm(forms.Form):
    address = forms.CharField(required=False, max_length=500, help_text="Exact phone or email.")
    contact = forms.CharField(required=False, max_length=128, label="Contact external id")
    template = forms.CharField(required=False, max_length=100, label="Template key")
    channel = forms.ChoiceField(required=False, choices=CHANNELS)
    status = forms.ChoiceField(required=False, choices=[("", "any"), *MessageStatus.choices])
    block_reason = forms.ChoiceField(required=False, choices=[("", "any"), *BlockReason.choices])
    rule = forms.CharField(required=False, max_length=100, help_text='"rule_key" or "rule_key v3".')
    date_from = day_field()
    date_to = day_field()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def filters(self) -> MessageFilters:
        data = self.cleaned_data
        text = {name: data.get(name) or "" for name in TEXT_FIELDS}
        return MessageFilters(**text, date_from=data.get("date_from"), date_to=data.get("date_to"))


TEXT_FIELDS = ("address", "contact", "template", "channel", "status", "block_reason", "rule")


class ReportForm(forms.Form):
    date_from = day_field()
    date_to = day_field()
    template = forms.CharField(required=False, max_length=100, label="Template key")
    channel = forms.ChoiceField(required=False, choices=CHANNELS)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            data["date_from"], data["date_to"] = report_period(
                date_from=data.get("date_from"), date_to=data.get("date_to"), today=timezone.now().date()
            )
        except ReportPeriodRefused as exc:
            self.add_error(exc.field, str(exc))
        return data


class EvidenceForm(forms.Form):
    contact = forms.CharField(max_length=128, label="Contact external id")


class TemplateEvidenceForm(forms.Form):
    template = forms.CharField(max_length=128, label="Template key")
    since = forms.DateTimeField(required=False, help_text="Sends created from (optional).")
    until = forms.DateTimeField(required=False, help_text="Sends created before (optional).")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("since") and data.get("until") and data["since"] >= data["until"]:
            self.add_error("until", "The end is not after the start.")
        return data


KINDS = [
    ("messages", "Messages"),
    ("inbound", "Inbound"),
    ("consent", "Consent and suppressions"),
    ("journeys", "Journeys"),
    ("audit", "Audit"),
]


class TimelineFilterForm(forms.Form):
    """The contact page's filters. Dates are days in the viewer's time zone; ``before`` is the
    paging cursor (an ISO time from the "Older entries" link)."""

    kind = forms.MultipleChoiceField(required=False, choices=KINDS, widget=forms.CheckboxSelectMultiple)
    channel = forms.ChoiceField(required=False, choices=CHANNELS)
    status = forms.ChoiceField(
        required=False,
        choices=[("", "any"), *MessageStatus.choices],
        help_text="Shows messages only.",
    )
    since = day_field(label="From")
    until = day_field(label="To")
    before = forms.DateTimeField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, audit: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kind = self.fields["kind"]
        if not audit and isinstance(kind, forms.MultipleChoiceField):
            # Only those who may read the audit log are offered its records.
            kind.choices = [c for c in KINDS if c[0] != "audit"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", "The end date is before the start date.")
        return data

    def timeline_filters(self) -> TimelineFilters:
        data = self.cleaned_data
        zone = timezone.get_current_timezone()

        def day_start(day: date | None, days: int = 0) -> datetime | None:
            return None if day is None else datetime.combine(day + timedelta(days=days), time(), tzinfo=zone)

        return TimelineFilters(
            kinds=frozenset(data.get("kind") or ()),
            channel=data.get("channel") or "",
            status=data.get("status") or "",
            since=day_start(data.get("since")),
            until=day_start(data.get("until"), days=1),  # the whole last day
            before=data.get("before"),
        )
