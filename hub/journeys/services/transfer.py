"""Journeys as code (SPEC §7): push a JSON file of definitions, approve by key, export.

The file holds one definition or ``{"journeys": [...]}``; export writes the latter, so an
export pushed back creates the same journeys.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from audit.services import Actor
from hub.journeys.definition import DefinitionProblem, InvalidDefinition, definition_check
from hub.journeys.models import Journey, JourneyVersion
from hub.journeys.services.versions import (
    JourneyWorkflowError,
    journey_create,
    journey_draft_create,
    journey_version_approve,
    journey_version_submit,
)
from templates_app.models import VersionStatus


def definitions_from_document(document: Any) -> list[Mapping[str, Any]]:
    """The definitions a pushed document holds: one object, or ``{"journeys": [...]}``."""
    if (
        isinstance(document, Mapping)
        and set(document) == {"journeys"}
        and isinstance(document["journeys"], list)
    ):
        return list(document["journeys"])
    if isinstance(document, Mapping):
        return [document]
    raise InvalidDefinition([DefinitionProblem("", 'expected a journey object or {"journeys": [...]}.')])


def journeys_push(*, document: Any, author: User) -> list[JourneyVersion]:
    """A new version of each journey in ``document``, submitted for approval, by ``author``.

    All or nothing: if any definition has a problem, nothing is created and InvalidDefinition
    lists every problem, prefixed with the journey's position in the file."""
    definitions = definitions_from_document(document)
    problems = [
        DefinitionProblem(f"journeys.{index}" + (f".{p.path}" if p.path else ""), p.message)
        for index, definition in enumerate(definitions)
        for p in definition_check(definition)
    ]
    keys = [d["key"] for d in definitions]
    problems += [
        DefinitionProblem(f"journeys.{i}.key", "this key appears twice in the file.")
        for i, k in enumerate(keys)
        if k in keys[:i]
    ]
    if problems:
        raise InvalidDefinition(problems)
    actor = Actor.user(author.pk)
    versions = []
    with transaction.atomic():
        for definition in definitions:
            journey = Journey.objects.filter(key=definition["key"]).first() or journey_create(
                key=definition["key"],
                name=definition["name"],
                description=definition.get("description", ""),
                actor=actor,
            )
            version = journey_draft_create(
                journey=journey, author=author, definition=definition, comment="journeys push"
            )
            journey_version_submit(version=version, actor=actor, comment="journeys push")
            versions.append(version)
    return versions


def journey_approve_submitted(*, key: str, approver: User, comment: str = "") -> JourneyVersion:
    """Approve the journey's version in review (refused if ``approver`` made it)."""
    journey = Journey.objects.filter(key=key).first()
    if journey is None:
        raise JourneyWorkflowError(f"There is no journey '{key}'.")
    submitted = list(journey.versions.filter(status=VersionStatus.IN_REVIEW).order_by("-number"))
    if not submitted:
        raise JourneyWorkflowError(f"Journey '{key}' has no version in review.")
    if len(submitted) > 1:
        numbers = ", ".join(f"v{v.number}" for v in submitted)
        raise JourneyWorkflowError(
            f"Journey '{key}' has several versions in review ({numbers}); approve one in admin."
        )
    journey_version_approve(version=submitted[0], approver=approver, comment=comment)
    return submitted[0]


def journeys_export(*, keys: Sequence[str] = ()) -> dict[str, Any]:
    """The live (else latest) definition of each journey, as ``journeys push`` reads it."""
    journeys = Journey.objects.select_related("live_version").order_by("key")
    if keys:
        journeys = journeys.filter(key__in=keys)
    definitions = []
    for journey in journeys:
        version = journey.live_version or journey.versions.order_by("-number").first()
        if version is not None:
            definitions.append(version.definition)
    return {"journeys": definitions}
