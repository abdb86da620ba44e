"""Conversions: a goal event (``POST /api/v1/events``) attributed to a message.

A template names its goal (``Template.goal_event``, e.g. ``order.completed``); a journey names
one too (its version's ``goal_event``). When an event with that name arrives for a contact,
the **latest** message of such a template (or sent by a run of such a journey) **delivered**
to that contact within the template's attribution window (``Template.attribution_days``,
default 7) before the event converts: last touch. The event counts once (one conversion per
event) and a message converts once: if the latest delivered message already converted, the
event converts nothing. The conversion is a ``converted`` engagement on the message through
the one feedback path, so its timeline shows it and the rollups count it; the
:class:`~hub.tracking.models.Conversion` row (message, event, template, journey version) is
what reports and journeys' goal counts read.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q

from audit.services import Actor
from hub.contacts.models import Contact
from hub.journeys.models import Event, JourneyRunMessage, JourneyVersion
from hub.messaging.feedback import Outcome
from hub.messaging.models import EventKind, MessageEvent
from hub.messaging.reports import ProviderReport, provider_reports_apply
from hub.tracking.models import Conversion
from templates_app.models import Template

CONVERSION_SOURCE = "conversion"
LONGEST_WINDOW = timedelta(days=90)  # Template.attribution_days is at most 90


def conversion_goal_names() -> set[str]:
    """Every event name that some template or journey version counts as its goal (two queries):
    a batch of events looks for conversions only for these."""
    names = set(Template.objects.exclude(goal_event="").values_list("goal_event", flat=True))
    names.update(JourneyVersion.objects.exclude(goal_event="").values_list("goal_event", flat=True))
    return names


def conversion_record(*, event: Event, contact: Contact) -> Conversion | None:
    """Attribute ``event`` (just stored, in the caller's transaction) to a message, if any."""
    journey_messages = JourneyRunMessage.objects.filter(
        run__contact=contact, run__version__goal_event=event.name
    ).values("message_id")
    delivered = (
        MessageEvent.objects.filter(
            kind=EventKind.STATUS,
            status="delivered",
            message__notification__contact=contact,
            occurred_at__lte=event.occurred_at,
            occurred_at__gte=event.occurred_at - LONGEST_WINDOW,
        )
        .filter(
            Q(message__notification__template__goal_event=event.name) | Q(message_id__in=journey_messages)
        )
        .select_related("message__notification__template")
        .order_by("-occurred_at", "-id")
    )
    latest = next(
        (
            d
            for d in delivered[:50]
            if d.occurred_at
            >= event.occurred_at - timedelta(days=d.message.notification.template.attribution_days)
        ),
        None,
    )
    if latest is None or Conversion.objects.filter(Q(message_id=latest.message_id) | Q(event=event)).exists():
        return None
    message = latest.message
    run_message = (
        JourneyRunMessage.objects.filter(message_id=message.id).select_related("run").order_by("id").first()
    )
    conversion = Conversion.objects.create(
        message=message,
        event=event,
        template=message.notification.template,
        journey_version_id=run_message.run.version_id if run_message else None,
        event_name=event.name,
        delivered_at=latest.occurred_at,
        occurred_at=event.occurred_at,
    )
    provider_reports_apply(
        provider=CONVERSION_SOURCE,
        reports=[
            ProviderReport(
                f"conversion:{event.id}",
                "goal_event",
                Outcome(
                    message_id=message.id,
                    engagement="converted",
                    detail={"event": event.name, "event_id": str(event.id)},
                    occurred_at=event.occurred_at,
                ),
            )
        ],
        actor=Actor.system(),
    )
    return conversion
