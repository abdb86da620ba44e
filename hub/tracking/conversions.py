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

from collections.abc import Mapping, Sequence
from datetime import timedelta

from django.db.models import Q

from audit.services import Actor
from hub.contacts.models import Contact
from hub.generations import GenerationCache, generation
from hub.journeys.models import Event, JourneyRunMessage, JourneyVersion
from hub.messaging.feedback import Outcome
from hub.messaging.models import EventKind, MessageEvent
from hub.messaging.reports import ProviderReport, provider_reports_apply
from hub.tracking.models import Conversion
from templates_app.models import Template

CONVERSION_SOURCE = "conversion"
LONGEST_WINDOW = timedelta(days=90)  # Template.attribution_days is at most 90


# Bumped by a saved template or journey version (TrackingConfig.ready).
GOALS_GENERATION = "conversion_goals"
_GOALS: GenerationCache[frozenset[str]] = GenerationCache(GOALS_GENERATION, size=1)


def conversion_goal_names() -> frozenset[str]:
    """Every event name that some template or journey version counts as its goal: events look
    for conversions only for these. Cached per process while the "conversion_goals"
    generation holds (hub.generations), else two queries."""
    current = generation(GOALS_GENERATION)
    names = _GOALS.get("all", current)
    if names is None:
        found = set(Template.objects.exclude(goal_event="").values_list("goal_event", flat=True))
        found.update(JourneyVersion.objects.exclude(goal_event="").values_list("goal_event", flat=True))
        names = frozenset(found)
        _GOALS.put("all", names, current)
    return names


def _delivered(contacts: Sequence[int] | Contact, names: Sequence[str]) -> Q:
    """Delivered messages to ``contacts`` (a contact, or ids) of a template whose goal is one of
    ``names``, or sent by a run of a journey version whose goal is."""
    by_run = JourneyRunMessage.objects.filter(run__version__goal_event__in=names)
    if isinstance(contacts, Contact):
        by_run = by_run.filter(run__contact=contacts)
        to = Q(message__notification__contact=contacts)
    else:
        by_run = by_run.filter(run__contact_id__in=contacts)
        to = Q(message__notification__contact_id__in=contacts)
    return (
        Q(kind=EventKind.STATUS, status="delivered")
        & to
        & (
            Q(message__notification__template__goal_event__in=names)
            | Q(message_id__in=by_run.values("message_id"))
        )
    )


def conversions_record(*, events: Sequence[Event], contacts: Mapping[int, Contact]) -> None:
    """``conversion_record`` for each of ``events`` (just stored, in the caller's transaction) in
    order, for those whose name is a goal. For more than one, a query first finds the contacts
    that had such a message delivered in the longest window at all: most have none."""
    goals = conversion_goal_names()
    scored = [e for e in events if e.name in goals]
    if len(scored) > 1:
        candidates = set(
            MessageEvent.objects.filter(
                _delivered(list({e.contact_id for e in scored}), list({e.name for e in scored})),
                occurred_at__lte=max(e.occurred_at for e in scored),
                occurred_at__gte=min(e.occurred_at for e in scored) - LONGEST_WINDOW,
            )
            .order_by()
            .values_list("message__notification__contact_id", flat=True)
            .distinct()
        )
        scored = [e for e in scored if e.contact_id in candidates]
    for event in scored:
        conversion_record(event=event, contact=contacts[event.contact_id])


def conversion_record(*, event: Event, contact: Contact) -> Conversion | None:
    """Attribute ``event`` (just stored, in the caller's transaction) to a message, if any."""
    delivered = (
        MessageEvent.objects.filter(
            _delivered(contact, [event.name]),
            occurred_at__lte=event.occurred_at,
            occurred_at__gte=event.occurred_at - LONGEST_WINDOW,
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
