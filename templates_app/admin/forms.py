"""Turning the editor's unsaved form into content for previews, and small admin forms."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, QueryDict

from templates_app.models import Channel, EmailLayout, StaffAddress, TemplateVariant
from templates_app.rendering.variables import VariableSpec


def posted_content(
    post: QueryDict,
) -> tuple[list[TemplateVariant], list[VariableSpec], EmailLayout | None, list[str]]:
    """Variants, variable specs and layout from the version editor's POST (inline formsets
    ``variants-N-...`` and ``variables-N-...``); problems lists what could not be read."""
    problems: list[str] = []
    variants: list[TemplateVariant] = []
    for i in range(_count(post, "variants")):
        prefix = f"variants-{i}-"
        channel = post.get(prefix + "channel", "")
        if not channel or post.get(prefix + "DELETE"):
            continue
        raw_data = post.get(prefix + "data", "").strip()
        data: Any = {}
        if raw_data:
            try:
                data = json.loads(raw_data)
            except ValueError:
                problems.append(f"{channel}/{post.get(prefix + 'locale', '')}: push data is not valid JSON.")
        variants.append(
            TemplateVariant(
                channel=channel,
                locale=post.get(prefix + "locale", "") or "en",
                subject=post.get(prefix + "subject", ""),
                preheader=post.get(prefix + "preheader", ""),
                html=post.get(prefix + "html", ""),
                text=post.get(prefix + "text", ""),
                title=post.get(prefix + "title", ""),
                link=post.get(prefix + "link", ""),
                data=data if isinstance(data, dict) else {},
            )
        )
    specs: list[VariableSpec] = []
    for i in range(_count(post, "variables")):
        prefix = f"variables-{i}-"
        name = post.get(prefix + "name", "").strip()
        if not name or post.get(prefix + "DELETE"):
            continue
        specs.append(
            VariableSpec(
                name=name,
                type=post.get(prefix + "type", "string"),
                required=bool(post.get(prefix + "required")),
                example=post.get(prefix + "example", ""),
            )
        )
    layout_id = post.get("layout", "")
    layout = EmailLayout.objects.filter(pk=layout_id).first() if layout_id.isdigit() else None
    return variants, specs, layout, problems


def _count(post: QueryDict, prefix: str) -> int:
    try:
        return min(int(post.get(f"{prefix}-TOTAL_FORMS", "0")), 200)
    except ValueError:
        return 0


class NewDraftForm(forms.Form):
    channels = forms.MultipleChoiceField(
        choices=Channel.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Which channels this template sends on (for a first draft).",
    )
    locales = forms.CharField(
        initial="en",
        help_text="Languages, separated by commas, e.g. en, fr. Recipients get the closest match.",
    )
    comment = forms.CharField(required=False, widget=forms.TextInput(attrs={"size": 60}))


class SubmitForm(forms.Form):
    comment = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="What changed and why, for the reviewer.",
    )


class ReviewForm(forms.Form):
    comment = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Required when rejecting: tell the author what to fix.",
    )


class TestSendForm(forms.Form):
    addresses = forms.ModelMultipleChoiceField(
        queryset=StaffAddress.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text="Only addresses you have verified as your own (at most one per channel).",
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["addresses"]
        assert isinstance(field, forms.ModelMultipleChoiceField)  # noqa: S101 - declared above
        field.queryset = StaffAddress.objects.filter(user=user, verified_at__isnull=False)


class StaffAddressForm(forms.Form):
    channel = forms.ChoiceField(choices=[(Channel.SMS, "SMS"), (Channel.EMAIL, "Email")])
    address = forms.CharField(
        max_length=254,
        help_text="Your mobile number in international form (e.g. +447911123456) or your email "
        "address. We send a one-time code to it.",
    )


class CodeForm(forms.Form):
    code = forms.CharField(max_length=12, help_text="The six-digit code we sent to the address.")


class ImportForm(forms.Form):
    file = forms.FileField(help_text="A JSON file made by 'Export selected templates'.")


def staff_user(request: HttpRequest) -> User:
    """The logged-in staff user (the admin site guarantees one)."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user
