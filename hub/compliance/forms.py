"""The admin form for a rule: the rule's key and kind plus the fields of its next version."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from hub.compliance.models import Rule, RuleEffect, RuleVersion
from hub.compliance.rules import CATEGORIES, CHANNELS, RuleSpec, rule_spec_parse

VERSION_FIELDS = ("enabled", "category", "channel", "countries", "effect", "params", "note")


class RuleForm(forms.ModelForm[Rule]):
    enabled = forms.BooleanField(required=False, initial=True)
    category = forms.ChoiceField(
        choices=[("", "every category"), *((c, c) for c in CATEGORIES)], required=False
    )
    channel = forms.ChoiceField(choices=[("", "every channel"), *((c, c) for c in CHANNELS)], required=False)
    countries = forms.CharField(
        required=False, help_text="Comma-separated ISO country codes the rule applies to; empty: all."
    )
    effect = forms.ChoiceField(choices=RuleEffect.choices)
    params = forms.JSONField(
        required=False,
        initial=dict,
        help_text='quiet_hours: {"start": "08:00", "end": "21:00"}; frequency_cap: {"limit": 3, '
        '"window_hours": 168}; country_allow: {"allowed": ["GB"]}; blackout: {"periods": '
        '[{"start": "2026-12-24T00:00:00+00:00", "end": "..."}]}; required_content: {"required": '
        '[{"label": "postal address", "any_of": ["postal_address"]}]}.',
    )
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
            for name in ("enabled", "category", "channel", "effect", "params"):
                self.initial.setdefault(name, getattr(latest, name))
            self.initial.setdefault("countries", ", ".join(latest.countries))
        if self.instance.pk:
            # A rule's identity never changes; only its versions do.
            for name in ("key", "kind"):
                self.fields[name].disabled = True

    def latest_version(self) -> RuleVersion | None:
        if not self.instance.pk:
            return None
        return self.instance.versions.order_by("-number").first()

    def clean_countries(self) -> list[str]:
        raw = self.cleaned_data.get("countries") or ""
        return [c.strip().upper() for c in raw.split(",") if c.strip()]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            self.spec = rule_spec_parse(
                key=data["key"],
                version=(latest.number + 1) if (latest := self.latest_version()) else 1,
                kind=data["kind"],
                effect=data["effect"],
                category=data.get("category") or "",
                channel=data.get("channel") or "",
                countries=data.get("countries") or [],
                params=data.get("params") or {},
            )
        except ValidationError as exc:
            raise ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages) from exc
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
