"""'Send a test to me': a real send of a version, through the hub's pipeline, to addresses the
staff member has proved are their own (see ``staff_addresses``), rate limited and audited.

``templates_app`` may not import ``hub``; the sending function is named by the setting
``TEMPLATES_TEST_SEND_FUNCTION`` (a dotted path) and resolved when used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.utils.module_loading import import_string

from audit.digests import address_digest, digest_key_id
from audit.models import ActorType, AuditRecord
from audit.services import Actor, audit_append
from templates_app.models import Channel, StaffAddress, TemplateVersion
from templates_app.services.staff_addresses import actions_in_last_hour

TEST_SENT = "template.version_test_sent"


class TestSendFailed(Exception):
    """The test could not be sent (no address, refused by the hub...); the message says why."""


def template_version_test_send(
    *, version: TemplateVersion, user: User, addresses: Sequence[StaffAddress]
) -> str:
    """Send ``version`` rendered with its example values to ``addresses`` (each one of
    ``user``'s verified addresses, at most one per channel); returns the notification id.

    At most ``TEMPLATES_TEST_SENDS_PER_HOUR`` per user; each is audited with the version,
    the channels and the addresses' digests. Raises TestSendFailed (nothing sent)."""
    dotted = getattr(settings, "TEMPLATES_TEST_SEND_FUNCTION", "")
    if not dotted:
        raise TestSendFailed("Test sends are not configured (TEMPLATES_TEST_SEND_FUNCTION).")
    send = import_string(dotted)
    limit = settings.TEMPLATES_TEST_SENDS_PER_HOUR
    with transaction.atomic():
        # One user's test sends queue behind each other, so the count below cannot be raced.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        rows = list(
            StaffAddress.objects.filter(
                pk__in=[a.pk for a in addresses], user=user, verified_at__isnull=False
            ).order_by("channel")
        )
        if not rows or len(rows) != len(addresses):
            raise TestSendFailed("Choose one or more of your own verified addresses.")
        channels = [row.channel for row in rows]
        if len(set(channels)) != len(channels):
            raise TestSendFailed("Choose at most one address per channel.")
        if actions_in_last_hour(user=user, action=TEST_SENT) >= limit:
            raise TestSendFailed(f"Too many test sends: at most {limit} an hour. Try again later.")
        to = {("phone" if row.channel == Channel.SMS else "email"): row.address for row in rows}
        notification_id = str(send(version=version, user=user, to=to))
        audit_append(
            actor=Actor.user(user.pk),
            action=TEST_SENT,
            object_type="template_version",
            object_id=version.pk,
            payload={
                "template": version.template.key,
                "number": version.number,
                "channels": channels,
                "addresses": [address_digest(row.address) for row in rows],
                "digest_key": digest_key_id(),
                "notification": notification_id,
            },
        )
    return notification_id


# A message in one of these states reached (or is on its way to) the address.
ON_ITS_WAY = frozenset({"accepted", "queued", "sending", "sent", "delivered"})


@dataclass(frozen=True)
class TestOutcome:
    """What became of one message of a test send, in words."""

    channel: str
    to: str
    status: str
    reason: str  # the block reason's label ("No consent"), or ""
    why: str  # the compliance decision's sentence, or the provider's error

    @property
    def on_its_way(self) -> bool:
        return self.status in ON_ITS_WAY


def test_send_summary(outcomes: Sequence[TestOutcome]) -> str:
    """One honest line for the whole test: never "sent" when nothing was."""
    if not outcomes:
        return "Nothing was sent: the hub made no message for this test."

    def said(o: TestOutcome) -> str:
        return f"{o.channel} {o.status}" + (f" ({o.reason})" if o.reason else "")

    going = [o for o in outcomes if o.on_its_way]
    stopped = [o for o in outcomes if not o.on_its_way]
    if not going:
        return "Nothing was sent: " + "; ".join(said(o) for o in stopped) + "."
    if stopped:
        return (
            f"Only part of the test went out: {', '.join(o.channel for o in going)} "
            f"{'is' if len(going) == 1 else 'are'} on the way; " + "; ".join(said(o) for o in stopped) + "."
        )
    return "The test is on its way: " + ", ".join(f"{o.channel} {o.status}" for o in going) + "."


def template_version_test_outcomes(
    *, version: TemplateVersion, user: User, notification_id: str
) -> list[TestOutcome]:
    """What became of each message of ``user``'s test send ``notification_id`` of ``version``
    (read through ``TEMPLATES_TEST_OUTCOMES_FUNCTION``). A marketer reads the reasons for
    their own tests here without access to every message. Raises TestSendFailed if the test
    is not theirs."""
    own = AuditRecord.objects.filter(
        action=TEST_SENT,
        actor_type=ActorType.USER,
        actor_id=str(user.pk),
        object_type="template_version",
        object_id=str(version.pk),
        payload__notification=str(notification_id),
    ).exists()
    if not own:
        raise TestSendFailed("This is not one of your test sends.")
    read = import_string(settings.TEMPLATES_TEST_OUTCOMES_FUNCTION)
    return [TestOutcome(**row) for row in read(notification_id=str(notification_id))]
