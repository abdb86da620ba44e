"""Bench data for the broadcast and API figures (P2-P4, P6): a live marketing SMS template,
an audience of contacts who consented to marketing SMS, and an API key with no practical rate
limit. Made once and reused: the bench database is kept between runs (not timed)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from audit.services import Actor
from hub.apikeys.models import ApiKey
from hub.apikeys.services import IssuedKey, apikey_create
from hub.contacts.models import ConsentEntry, ConsentSource, Contact
from templates_app.models import Category, Template
from templates_app.services import template_draft_create, template_version_approve, template_version_submit

PROMO_TEMPLATE = "bench.promo"
PROMO_TEXT = "Hi {{ first_name }}, {{ offer }} off this week only. Reply STOP to opt out."
PROMO_DATA = {"first_name": "Ada", "offer": "10%"}
# Zones tried for quiet hours: the audience is moved to one where it is working hours now,
# so the baseline rule (marketing SMS 08:00-21:00 local) lets every message through.
DAYTIME_ZONES = (
    "Europe/London",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
    "America/Los_Angeles",
    "America/New_York",
)


def live_sms_template(*, key: str, name: str, category: str, text: str, examples: dict[str, str]) -> Template:
    """A template with one live English SMS variant (drafted, submitted and approved once);
    every variable is a required string, exemplified by ``examples``."""
    return live_template(
        key=key, name=name, category=category, variant={"channel": "sms", "text": text}, examples=examples
    )


def live_template(
    *, key: str, name: str, category: str, variant: dict[str, str], examples: dict[str, str]
) -> Template:
    """A template with one live English variant (``variant``: its channel and content fields),
    drafted, submitted and approved once; every variable a required string from ``examples``."""
    found = Template.objects.filter(key=key).select_related("live_version").first()
    if found is not None and found.live_version is not None:
        return found
    users = get_user_model().objects
    author, _ = users.get_or_create(username="bench-author")
    approver, _ = users.get_or_create(username="bench-approver")
    template = found or Template.objects.create(key=key, name=name, category=category)
    draft = template_draft_create(
        template=template,
        author=author,
        variants=[{"locale": "en", **variant}],
        variables=[
            {"name": variable, "type": "string", "required": True, "example": example}
            for variable, example in examples.items()
        ],
    )
    template_version_submit(version=draft, actor=Actor.user(author.pk))
    template_version_approve(version=draft, approver=approver)
    template.refresh_from_db()
    return template


def promo_template() -> Template:
    """The live marketing SMS template the bench broadcasts."""
    return live_sms_template(
        key=PROMO_TEMPLATE,
        name="Benchmark promotion",
        category=Category.MARKETING,
        text=PROMO_TEXT,
        examples=PROMO_DATA,
    )


def daytime_zone(now: datetime | None = None) -> str:
    """A time zone where it is between 09:00 and 19:00 now (the run must end before 21:00)."""
    moment = now or timezone.now()
    for name in DAYTIME_ZONES:
        if 9 <= moment.astimezone(ZoneInfo(name)).hour < 19:
            return name
    return DAYTIME_ZONES[0]  # not reached: the zones cover the whole day


def audience_ensure(*, tag: str, count: int, batch: int = 5000) -> str:
    """At least ``count`` contacts with ``attributes.bench == tag``, each with marketing SMS
    consent, all moved to a zone where it is daytime. Returns the zone."""
    have = Contact.objects.filter(attributes__bench=tag).count()
    for start in range(have, count, batch):
        size = min(batch, count - start)
        with transaction.atomic():
            contacts = Contact.objects.bulk_create(
                Contact(
                    external_id=f"bench-{tag}-{n}",
                    phone=f"+4479{n:08d}",
                    locale="en",
                    attributes={"bench": tag},
                )
                for n in range(start, start + size)
            )
            ConsentEntry.objects.bulk_create(
                ConsentEntry(
                    contact=c,
                    channel="sms",
                    purpose=Category.MARKETING,
                    granted=True,
                    source=ConsentSource.API,
                    evidence={"bench": tag},
                )
                for c in contacts
            )
    zone = daytime_zone()
    Contact.objects.filter(attributes__bench=tag).exclude(timezone=zone).update(timezone=zone)
    return zone


def bench_api_key(name: str) -> IssuedKey:
    """A fresh key (the secret is only known at creation) limited far above any bench rate."""
    issued = apikey_create(name=name, rate_limit_per_minute=100_000_000)
    ApiKey.objects.filter(pk=issued.api_key.pk).update(rate_limit_burst=1_000_000)
    issued.api_key.refresh_from_db()
    return issued
