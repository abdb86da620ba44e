"""Templates, their versions (maker-checker), declared variables, email layouts and the
per-channel, per-locale content."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models


class Category(models.TextChoices):
    TRANSACTIONAL = "transactional", "Transactional"
    MARKETING = "marketing", "Marketing"


class Channel(models.TextChoices):
    SMS = "sms", "SMS"
    EMAIL = "email", "Email"
    PUSH = "push", "Push"


class Tracking(models.TextChoices):
    """Whether the hub rewrites a template's links to its own tracked redirects (and adds an
    open pixel to email): ``auto`` is on for marketing, off for transactional."""

    AUTO = "auto", "By category (on for marketing, off for transactional)"
    ON = "on", "On"
    OFF = "off", "Off"


def tracking_on(tracking: str, category: str) -> bool:
    """The ``Tracking`` setting resolved for a category."""
    if tracking == Tracking.AUTO:
        return category == Category.MARKETING
    return tracking == Tracking.ON


class VersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class VariableType(models.TextChoices):
    STRING = "string", "Text"
    NUMBER = "number", "Number"
    DATE = "date", "Date"
    DATETIME = "datetime", "Date and time"
    MONEY = "money", "Money"
    URL = "url", "Web address (URL)"
    BOOLEAN = "boolean", "Yes / no"


class EmailLayout(models.Model):
    """A reusable frame for email: brand styles, a header, and a footer with the postal address.

    The version's HTML is placed between header and footer; the styles are inlined at render.
    """

    name = models.CharField(max_length=100, unique=True)
    header_html = models.TextField(blank=True, help_text="Shown above every email, e.g. your logo.")
    footer_html = models.TextField(blank=True, help_text="Shown below every email, before the address.")
    postal_address = models.CharField(
        max_length=300, blank=True, help_text="Your company's postal address (required in marketing email)."
    )
    css = models.TextField(
        blank=True,
        verbose_name="brand styles (CSS)",
        help_text="e.g. body { font-family: Arial } a { color: #0a58ca }. Inlined into every email.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


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
    # Stable public id (GOV.UK Notify's clients name templates by UUID); versions keep their
    # integer ``number``.
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    category = models.CharField(max_length=16, choices=Category.choices)
    default_locale = models.CharField(max_length=35, default="en")
    live_version = models.ForeignKey(
        "TemplateVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    tracking = models.CharField(
        max_length=8,
        choices=Tracking.choices,
        default=Tracking.AUTO,
        help_text="Links in email and SMS become short tracked redirects; email gets an open pixel.",
    )
    goal_event = models.CharField(
        max_length=100,
        blank=True,
        help_text="An event name (POST /api/v1/events), e.g. order.completed: it counts as a "
        "conversion for the latest message of this template delivered to the contact.",
    )
    attribution_days = models.PositiveSmallIntegerField(
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text="How many days after delivery a goal event still counts as a conversion.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("key",)
        permissions = [
            ("import_template", "Can import templates from JSON"),
            ("export_template", "Can export templates as JSON"),
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def tracks_links(self) -> bool:
        """Links rewritten (and an email open pixel) for this template's messages."""
        return tracking_on(self.tracking, self.category)


class TemplateVersion(models.Model):
    template = models.ForeignKey(Template, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    layout = models.ForeignKey(
        EmailLayout,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="versions",
        help_text="The frame (header, footer, address, styles) around the email content.",
    )
    # The layout as it was when the version was submitted: later edits to the layout never
    # change what compliance approved.
    layout_snapshot = models.JSONField(default=dict, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    lint = models.JSONField(default=list, blank=True, help_text="Findings of the lint run at submit.")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.TextField(blank=True)

    class Meta:
        ordering = ("template", "-number")
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="template_version_number_unique")
        ]
        permissions = [
            ("submit_templateversion", "Can submit a template version for approval"),
            ("approve_templateversion", "Can approve or reject template versions (never their own)"),
            ("test_send_templateversion", "Can send a test of a template version to themselves"),
        ]

    def __str__(self) -> str:
        return f"{self.template.key} v{self.number}"

    @property
    def is_editable(self) -> bool:
        """Only a draft may change; a submitted version is frozen for good."""
        return self.status == VersionStatus.DRAFT


class FrozenVersionError(Exception):
    """Content of a submitted version may not change (make a new draft instead)."""


class _DraftContent(models.Model):
    """Rows that belong to a version's content: writable only while the version is a draft.

    The services and the admin already refuse such edits; this guard stops any other code path.
    """

    version_id: int

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        self._check_draft()
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        self._check_draft()
        return super().delete(*args, **kwargs)

    def _check_draft(self) -> None:
        frozen = (
            TemplateVersion.objects.filter(pk=self.version_id).exclude(status=VersionStatus.DRAFT).exists()
        )
        if frozen:
            raise FrozenVersionError("This version was submitted; its content can no longer change.")


class ApprovalQueueEntry(TemplateVersion):
    """The versions waiting for compliance (an admin view of TemplateVersion)."""

    class Meta:
        proxy = True
        verbose_name = "version awaiting approval"
        verbose_name_plural = "approval queue"


class TemplateVariable(_DraftContent):
    """A variable a version declares: callers must send it (if required) with this type."""

    version = models.ForeignKey(TemplateVersion, on_delete=models.CASCADE, related_name="variables")
    name = models.CharField(
        max_length=64,
        validators=[
            RegexValidator(r"^[a-z_][a-z0-9_]*$", "Use lower-case letters, digits and _, e.g. first_name.")
        ],
    )
    type = models.CharField(max_length=16, choices=VariableType.choices, default=VariableType.STRING)
    required = models.BooleanField(default=True)
    example = models.CharField(
        max_length=500,
        blank=True,
        help_text="Used for previews and tests. Dates: 2026-05-01; money: 19.99 GBP; yes/no: true.",
    )
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ("version", "name")
        constraints = [models.UniqueConstraint(fields=["version", "name"], name="template_variable_unique")]

    def __str__(self) -> str:
        return self.name


class TemplateVariant(_DraftContent):
    """The content of one version for one channel and locale."""

    version = models.ForeignKey(TemplateVersion, on_delete=models.CASCADE, related_name="variants")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    locale = models.CharField(max_length=35, help_text="e.g. en, fr, fr-CA")
    subject = models.CharField(max_length=300, blank=True, help_text="Email subject.")
    preheader = models.CharField(
        max_length=200, blank=True, help_text="Email preview line shown after the subject in the inbox."
    )
    html = models.TextField(blank=True, verbose_name="HTML body", help_text="Email body (HTML).")
    text = models.TextField(
        blank=True,
        help_text="SMS text, push body, or email plain text (left blank: derived from the HTML).",
    )
    title = models.CharField(max_length=200, blank=True, help_text="Push title.")
    link = models.CharField(max_length=500, blank=True, help_text="Push link (opened on tap).")
    data = models.JSONField(default=dict, blank=True, help_text="Push data (JSON object) for the app.")

    class Meta:
        ordering = ("channel", "locale")
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


class StaffAddress(models.Model):
    """A phone number or email address a staff member proved is theirs, for test sends.

    The proof is a one-time code sent to the address and entered back in admin; only its
    hash is kept. Test sends go to verified addresses only, so an unapproved draft can reach
    nobody but the person who wrote it.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(
        max_length=8, choices=[(Channel.SMS, "SMS"), (Channel.EMAIL, "Email")], default=Channel.SMS
    )
    address = models.CharField(max_length=254, help_text="E.164 phone number or email address.")
    code_hash = models.CharField(max_length=128, blank=True)
    code_sent_at = models.DateTimeField(null=True, blank=True)
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("channel", "address")
        verbose_name = "my test address"
        verbose_name_plural = "my test addresses"
        constraints = [
            models.UniqueConstraint(fields=["user", "channel", "address"], name="staff_address_unique")
        ]

    def __str__(self) -> str:
        state = "verified" if self.verified_at else "not verified"
        return f"{self.get_channel_display()} {self.address} ({state})"
