"""Measurement data: the links and open pixels the hub put into messages, each time someone
(or some machine) followed them, conversions, and the price table.

``TrackingHit`` and ``Conversion`` are personal data (when a person read or acted on which
message): purged by retention, removed by erasure, shown in the evidence pack. A hit keeps
the user agent (300 characters) and the IP address **truncated** (IPv4 to /24, IPv6 to /48),
never the full address.
"""

from __future__ import annotations

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models


class LinkKind(models.TextChoices):
    LINK = "link", "Link"
    OPEN = "open", "Open pixel"


class TrackedLink(models.Model):
    """One link (or the open pixel) of one message, as written at dispatch. Its public token is
    the id and a truncated HMAC of it (``hub.tracking.tokens``)."""

    message = models.ForeignKey("messaging.Message", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=LinkKind.choices, default=LinkKind.LINK)
    position = models.PositiveSmallIntegerField(default=0, help_text="1 for the message's first link.")
    label = models.CharField(max_length=200, blank=True, help_text="The anchor text (HTML email).")
    url = models.TextField(blank=True)
    created_at = models.DateTimeField(help_text="When the message was handed off with this link.")

    class Meta:
        indexes = [models.Index(fields=["message"], name="trackedlink_message_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.position} of {self.message_id}"


class HitKind(models.TextChoices):
    CLICK = "click", "Click"
    OPEN = "open", "Open"


class TrackingHit(models.Model):
    """A tracked link followed or a pixel fetched. ``machine``: a link scanner or a privacy
    proxy, counted apart from people (``machine_reason`` says why)."""

    link = models.ForeignKey(TrackedLink, on_delete=models.CASCADE, related_name="hits")
    message = models.ForeignKey("messaging.Message", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=HitKind.choices)
    machine = models.BooleanField(default=False)
    machine_reason = models.CharField(max_length=32, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    ip_prefix = models.CharField(max_length=64, blank=True, help_text="IPv4 /24 or IPv6 /48, never more.")
    at = models.DateTimeField()

    class Meta:
        ordering = ("at", "id")
        indexes = [
            models.Index(fields=["message", "kind"], name="trackinghit_message_idx"),
            models.Index(fields=["at"], name="trackinghit_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.message_id} {self.at:%Y-%m-%d %H:%M}"


class Conversion(models.Model):
    """A goal event attributed to the latest message delivered to its contact within the
    attribution window (last touch). One per event, one per message."""

    message = models.OneToOneField("messaging.Message", on_delete=models.CASCADE, related_name="+")
    event = models.OneToOneField("journeys.Event", on_delete=models.CASCADE, related_name="+")
    template = models.ForeignKey("templates_app.Template", on_delete=models.PROTECT, related_name="+")
    journey_version = models.ForeignKey(
        "journeys.JourneyVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    event_name = models.CharField(max_length=100)
    delivered_at = models.DateTimeField()
    occurred_at = models.DateTimeField()

    class Meta:
        ordering = ("-occurred_at",)
        indexes = [models.Index(fields=["occurred_at"], name="conversion_at_idx")]

    def __str__(self) -> str:
        return f"{self.event_name} → {self.message_id}"


class PriceUnit(models.TextChoices):
    SEGMENT = "segment", "Per SMS segment"
    MESSAGE = "message", "Per message"


class Price(models.Model):
    """What one SMS segment (or one message) costs on a channel to numbers starting with
    ``country_prefix`` (E.164 digits, e.g. 44 or 1; empty: every other destination). The
    longest matching prefix wins. Used where the provider reports no price."""

    channel = models.CharField(
        max_length=8, choices=[("sms", "SMS"), ("email", "Email"), ("push", "Push")], default="sms"
    )
    country_prefix = models.CharField(
        max_length=8,
        blank=True,
        validators=[RegexValidator(r"^[0-9]*$", "Digits only, without the +: e.g. 44 for the UK.")],
        help_text="Digits of the E.164 number after +, e.g. 44; empty for every other destination.",
    )
    price = models.DecimalField(
        max_digits=10, decimal_places=5, validators=[MinValueValidator(0, "A price cannot be negative.")]
    )
    unit = models.CharField(max_length=8, choices=PriceUnit.choices, default=PriceUnit.SEGMENT)
    currency = models.CharField(max_length=3, default="USD")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("channel", "country_prefix")
        constraints = [
            models.UniqueConstraint(fields=["channel", "country_prefix"], name="price_channel_prefix"),
            models.CheckConstraint(
                condition=models.Q(price__gte=0),
                name="price_not_negative",
                violation_error_message="A price cannot be negative.",
            ),
            models.CheckConstraint(
                condition=models.Q(country_prefix__regex=r"^[0-9]*$"),
                name="price_prefix_digits",
                violation_error_message="The country prefix is digits only, without the +.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} +{self.country_prefix or '*'}: {self.price} {self.currency}/{self.unit}"


class MessagePrice(models.Model):
    """The price a provider reported for one message (Twilio's Message resource), fetched after
    its final status. Where there is one it replaces the price table's estimate in the rollups."""

    message = models.OneToOneField(
        "messaging.Message", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    amount = models.DecimalField(max_digits=12, decimal_places=5)
    currency = models.CharField(max_length=3, blank=True)
    estimate = models.DecimalField(
        max_digits=12, decimal_places=5, default=0, help_text="What the price table had counted."
    )
    fetched_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.message_id}: {self.amount} {self.currency}"
