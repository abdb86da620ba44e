"""Provider routing configured by operators, processed webhook events, the SMS keyword
replies, and the sandbox outbox. Secrets never live here: they stay in the environment."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

# Option names that look like secrets are refused in admin: secrets belong in the environment.
SECRET_OPTION_MARKERS = ("token", "secret", "password", "key", "credential", "sid")
# Options every provider reads as numbers (see hub.providers.base.Provider); each must be > 0.
NUMERIC_OPTIONS = ("timeout", "rate_per_second", "burst", "concurrency")


class ProviderChannel(models.TextChoices):
    SMS = "sms", "SMS"
    EMAIL = "email", "Email"
    PUSH = "push", "Push"


class ProviderBackend(models.TextChoices):
    TWILIO = "hub.providers.twilio.TwilioSmsProvider", "Twilio (SMS)"
    SENDGRID = "hub.providers.sendgrid.SendGridEmailProvider", "SendGrid (email)"
    SMTP = "hub.providers.smtp.SmtpEmailProvider", "SMTP (email)"
    FCM = "hub.providers.fcm.FcmPushProvider", "FCM HTTP v1 (push)"
    WEBPUSH = "hub.providers.webpush.WebPushProvider", "Web Push (push)"
    SANDBOX = "hub.providers.sandbox.SandboxProvider", "Sandbox (any channel)"


# The channel each vendor backend carries (the sandbox carries any).
BACKEND_CHANNELS: dict[str, str] = {
    ProviderBackend.TWILIO: ProviderChannel.SMS,
    ProviderBackend.SENDGRID: ProviderChannel.EMAIL,
    ProviderBackend.SMTP: ProviderChannel.EMAIL,
    ProviderBackend.FCM: ProviderChannel.PUSH,
    ProviderBackend.WEBPUSH: ProviderChannel.PUSH,
}


class ProviderConfig(models.Model):
    """One provider of a channel as operators route it. When a channel has no rows, the
    providers of ``settings.HUB_PROVIDERS`` are used in their listed order.

    A row whose ``name`` matches an entry of ``HUB_PROVIDERS`` takes that entry's options
    (its secrets, read from the environment) and lays its own non-secret ``options`` over them.
    """

    name = models.SlugField(max_length=64, unique=True)
    channel = models.CharField(max_length=8, choices=ProviderChannel.choices)
    backend = models.CharField(max_length=120, choices=ProviderBackend.choices)
    priority = models.PositiveSmallIntegerField(default=10, help_text="Lower goes first.")
    enabled = models.BooleanField(default=True)
    options = models.JSONField(
        default=dict,
        blank=True,
        help_text='Non-secret options, e.g. {"rate_per_second": 10, "timeout": 5}. '
        "Secrets come from the environment.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("channel", "priority", "name")
        verbose_name = "provider"

    def __str__(self) -> str:
        return f"{self.name} ({self.channel})"

    def clean(self) -> None:
        if not isinstance(self.options, dict):
            raise ValidationError({"options": "Options must be a JSON object."})
        secret = sorted(k for k in self.options if any(m in k.lower() for m in SECRET_OPTION_MARKERS))
        if secret:
            raise ValidationError(
                {"options": f"Secrets belong in the environment, not here: {', '.join(secret)}."}
            )
        bad = sorted(k for k in NUMERIC_OPTIONS if k in self.options and not _positive(self.options[k]))
        if bad:
            raise ValidationError({"options": f"Each of these must be a positive number: {', '.join(bad)}."})
        carries = BACKEND_CHANNELS.get(self.backend)
        if carries is not None and carries != self.channel:
            raise ValidationError({"backend": f"This backend carries {carries}, not {self.channel}."})


def _positive(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


class WebhookEvent(models.Model):
    """A provider event already processed: a replay of the same ``event_id`` changes nothing."""

    provider = models.CharField(max_length=32)
    event_id = models.CharField(max_length=200)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"], name="webhook_event_unique")]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_id}"


class SmsKeywordReplies(models.Model):
    """What the hub answers to SMS keywords. One row (the newest is used); edited in admin."""

    help_reply = models.CharField(
        max_length=320,
        default="Switchboard alerts. Reply STOP to unsubscribe, START to resubscribe. Msg&data rates may apply.",
        help_text="Sent in answer to HELP or INFO.",
    )
    opt_out_reply = models.CharField(
        max_length=320,
        blank=True,
        help_text="Sent in answer to STOP etc. Leave empty if Twilio already answers.",
    )
    opt_in_reply = models.CharField(
        max_length=320, blank=True, help_text="Sent in answer to START, YES, UNSTOP."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "SMS keyword replies"
        verbose_name_plural = "SMS keyword replies"

    def __str__(self) -> str:
        return "SMS keyword replies"

    def clean(self) -> None:
        # Carrier rules (CTIA) require the HELP answer to say how to opt out.
        if "stop" not in self.help_reply.lower():
            raise ValidationError({"help_reply": "The HELP reply must say how to opt out (mention STOP)."})


class SandboxOutboxEntry(models.Model):
    provider = models.CharField(max_length=64)
    channel = models.CharField(max_length=8)
    provider_message_id = models.CharField(max_length=64, unique=True)
    message_id = models.CharField(max_length=64, db_index=True)
    to = models.CharField(max_length=500)
    content = models.JSONField(default=dict)
    headers = models.JSONField(default=dict, blank=True, help_text="Email: what a real provider would send.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at",)
        verbose_name = "sandbox outbox entry"
        verbose_name_plural = "sandbox outbox"

    def __str__(self) -> str:
        return f"{self.channel} {self.provider_message_id}"
