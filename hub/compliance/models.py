"""Compliance rules as data. A rule is a stable key and kind; what it does lives in its
versions. Saving a change always makes a new version, so every decision can name the exact
rule version that made it."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class RuleKind(models.TextChoices):
    SUPPRESSION = "suppression", "Suppressed address"
    OPT_OUT = "opt_out", "Opt-out (consent withdrawn)"
    CONSENT_REQUIRED = "consent_required", "Consent required"
    QUIET_HOURS = "quiet_hours", "Quiet hours (recipient's local time)"
    FREQUENCY_CAP = "frequency_cap", "Frequency cap"
    COUNTRY_ALLOW = "country_allow", "Country allow-list"
    BLACKOUT = "blackout", "Blackout windows"
    REQUIRED_CONTENT = "required_content", "Required content (checked at template submit)"


class RuleEffect(models.TextChoices):
    BLOCK = "block", "Block"
    DEFER = "defer", "Defer until the next allowed time"


class Rule(models.Model):
    key = models.SlugField(max_length=64, unique=True, help_text="A stable name, e.g. quiet_hours_sms.")
    kind = models.CharField(max_length=24, choices=RuleKind.choices)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("key",)
        permissions = [("preview_rule", "Can preview a rule change on past messages (dry run)")]

    def __str__(self) -> str:
        return self.key


class RuleVersion(models.Model):
    """One immutable version of a rule: its scope, effect and parameters."""

    rule = models.ForeignKey(Rule, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    enabled = models.BooleanField(default=True)
    category = models.CharField(
        max_length=16, blank=True, help_text="transactional or marketing; empty: every category."
    )
    channel = models.CharField(
        max_length=8, blank=True, help_text="sms, email or push; empty: every channel."
    )
    countries = models.JSONField(
        default=list, blank=True, help_text="ISO 3166 codes of recipient countries; empty: every country."
    )
    effect = models.CharField(max_length=8, choices=RuleEffect.choices)
    params = models.JSONField(default=dict, blank=True)
    note = models.CharField(max_length=300, blank=True, help_text="Why this version was made.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("rule", "-number")
        constraints = [models.UniqueConstraint(fields=["rule", "number"], name="rule_version_number_unique")]

    def __str__(self) -> str:
        return f"{self.rule.key} v{self.number}"
