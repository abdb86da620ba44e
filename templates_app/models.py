"""Templates, their versions (maker-checker) and the per-channel, per-locale content."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models


class Category(models.TextChoices):
    TRANSACTIONAL = "transactional", "Transactional"
    MARKETING = "marketing", "Marketing"


class Channel(models.TextChoices):
    SMS = "sms", "SMS"
    EMAIL = "email", "Email"
    PUSH = "push", "Push"


class VersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class Template(models.Model):
    key = models.CharField(
        max_length=100,
        unique=True,
        validators=[
            RegexValidator(
                r"^[a-z0-9][a-z0-9._-]*$",
                "Use lower-case letters, digits, dots, dashes and underscores, e.g. order.shipped.",
            )
        ],
        help_text="e.g. order.shipped",
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    category = models.CharField(max_length=16, choices=Category.choices)
    default_locale = models.CharField(max_length=35, default="en")
    live_version = models.ForeignKey(
        "TemplateVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("key",)

    def __str__(self) -> str:
        return self.key


class TemplateVersion(models.Model):
    template = models.ForeignKey(Template, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("template", "-number")
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="template_version_number_unique")
        ]

    def __str__(self) -> str:
        return f"{self.template.key} v{self.number}"


class TemplateVariant(models.Model):
    """The content of one version for one channel and locale."""

    version = models.ForeignKey(TemplateVersion, on_delete=models.CASCADE, related_name="variants")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    locale = models.CharField(max_length=35)
    subject = models.CharField(max_length=300, blank=True)
    html = models.TextField(blank=True)
    text = models.TextField(blank=True, help_text="Email plain text, SMS text, or push body.")
    title = models.CharField(max_length=200, blank=True, help_text="Push title.")
    link = models.CharField(max_length=500, blank=True, help_text="Push link.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "channel", "locale"], name="template_variant_unique")
        ]

    def __str__(self) -> str:
        return f"{self.version} {self.channel}/{self.locale}"


class TemplateApproval(models.Model):
    """One decision to make a version live; re-approving an old version is a new approval."""

    version = models.ForeignKey(TemplateVersion, on_delete=models.PROTECT, related_name="approvals")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(auto_now_add=True)
    comment = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"approval of {self.version} at {self.approved_at:%Y-%m-%d %H:%M}"
