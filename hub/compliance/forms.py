"""The admin form for a rule: the rule's key and kind plus the fields of its next version, with
the kind's parameters as fields of their own (``hub.compliance.params``), not JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from hub.compliance.models import Rule, RuleEffect, RuleVersion
from hub.compliance.params import (
    KIND_TITLES,
    PARAM_KINDS,
    CountriesField,
    ParamErrors,
    kind_fields,
    kind_initial,
    kind_params,
    kind_rows,
)
from hub.compliance.rules import ALLOWED_EFFECTS, CATEGORIES, CHANNELS, RuleSpec, rule_spec_parse

VERSION_FIELDS = ("enabled", "category", "channel", "countries", "effect", "note")


def params_layout(
    *, kind: str | None, params: Mapping[str, Any], data: Mapping[str, Any] | None
) -> dict[str, tuple[int, dict[str, forms.Field]]]:
    """The parameter fields the form shows, per kind: only the rule's own kind once it exists,
    every kind on the add page (the page shows the chosen one). Rows of periods or items
    follow what was posted, else what is stored. The admin builds its fieldsets from this."""
    kinds = [kind] if kind else list(PARAM_KINDS)
    layout = {}
    for name in kinds:
        rows = kind_rows(name, params if name == kind else {}, data)
        layout[name] = (rows, kind_fields(name, rows))
    return layout


def params_fieldsets(layout: Mapping[str, tuple[int, Mapping[str, forms.Field]]]) -> list[tuple[str, Any]]:
    fieldsets: list[tuple[str, Any]] = []
    for kind, (_, fields) in layout.items():
        if fields:
            fieldsets.append(
                (KIND_TITLES[kind], {"fields": tuple(fields), "classes": ("sb-kind", f"sb-kind-{kind}")})
            )
    return fieldsets


class RuleForm(forms.ModelForm[Rule]):
    enabled = forms.BooleanField(required=False, initial=True)
    category = forms.ChoiceField(
        choices=[("", "every category"), *((c, c) for c in CATEGORIES)], required=False
    )
    channel = forms.ChoiceField(choices=[("", "every channel"), *((c, c) for c in CHANNELS)], required=False)
    countries = CountriesField(
        label="Only for recipients in",
        required=False,
        help_text="Leave empty for every country. Hold Ctrl (⌘ on a Mac) to choose several.",
    )
    effect = forms.ChoiceField(choices=RuleEffect.choices)
    note = forms.CharField(
        required=False, max_length=300, help_text="Why this change (kept with the version)."
    )

    class Meta:
        model = Rule
        fields = ("key", "kind", "description")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        latest = self.latest_version()
        if latest is not None:
            for name in ("enabled", "category", "channel", "effect"):
                self.initial.setdefault(name, getattr(latest, name))
            self.initial.setdefault("countries", list(latest.countries))
        kind = self.instance.kind if self.instance.pk else None
        self.layout = params_layout(
            kind=kind, params=latest.params if latest else {}, data=self.data if self.is_bound else None
        )
        for fields in (fields for _, fields in self.layout.values()):
            self.fields.update(fields)
        if kind and latest is not None:
            for name, value in kind_initial(kind, latest.params).items():
                self.initial.setdefault(name, value)
        if self.instance.pk:
            # A rule's identity never changes; only its versions do.
            for name in ("key", "kind"):
                if name in self.fields:  # absent from a read-only viewer's form
                    self.fields[name].disabled = True
            effect = self.fields["effect"]
            assert isinstance(effect, forms.ChoiceField)  # noqa: S101 - declared above
            effect.choices = [c for c in RuleEffect.choices if c[0] in ALLOWED_EFFECTS[self.instance.kind]]

    def latest_version(self) -> RuleVersion | None:
        if not self.instance.pk:
            return None
        return self.instance.versions.order_by("-number").first()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind") or self.instance.kind
        params: dict[str, Any] = {}
        if kind in self.layout:
            try:
                params = kind_params(kind, data, rows=self.layout[kind][0])
            except ParamErrors as exc:
                for name, message in exc.errors.items():
                    self.add_error(name, message)
        if self.errors:
            return data
        data["params"] = params
        try:
            self.spec = rule_spec_parse(
                key=data["key"],
                version=(latest.number + 1) if (latest := self.latest_version()) else 1,
                kind=kind,
                effect=data["effect"],
                category=data.get("category") or "",
                channel=data.get("channel") or "",
                countries=data.get("countries") or [],
                params=params,
            )
        except ValidationError as exc:
            if not hasattr(exc, "error_dict"):
                raise
            for name, errors in exc.message_dict.items():
                self.add_error(name if name in self.fields else None, errors)
        return data

    def proposed_spec(self) -> RuleSpec | None:
        """The changed rule as the engine would see it; None if the change disables it."""
        return self.spec if self.cleaned_data.get("enabled") else None

    def version_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "enabled": bool(data.get("enabled")),
            "category": data.get("category") or "",
            "channel": data.get("channel") or "",
            "countries": data.get("countries") or [],
            "effect": data["effect"],
            "params": data.get("params") or {},
            "note": data.get("note") or "",
        }

    def version_changed(self) -> bool:
        latest = self.latest_version()
        if latest is None:
            return True
        values = self.version_values()
        return any(
            json.dumps(values[name], sort_keys=True) != json.dumps(getattr(latest, name), sort_keys=True)
            for name in ("enabled", "category", "channel", "countries", "effect", "params")
        )


class PreviewForm(forms.Form):
    days = forms.IntegerField(min_value=1, max_value=90, initial=7, help_text="Decide the last N days again.")
