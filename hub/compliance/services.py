"""Changing rules. A change never edits a version: it appends the next one, audited, and the
engine's cache notices it on its next batch (in every process)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from audit.services import Actor, audit_append
from hub.compliance.models import Rule, RuleVersion
from hub.compliance.rules import rule_spec_parse, rules_cache_clear


def rule_version_create(
    *,
    rule: Rule,
    effect: str,
    params: Mapping[str, Any],
    category: str = "",
    channel: str = "",
    countries: Sequence[str] = (),
    enabled: bool = True,
    note: str = "",
    user: AbstractBaseUser | None = None,
) -> RuleVersion:
    """Append the next version of ``rule``. Raises ValidationError (naming the field) and writes
    nothing if the version is not valid for the rule's kind."""
    rule_spec_parse(
        key=rule.key,
        version=0,
        kind=rule.kind,
        effect=effect,
        category=category,
        channel=channel,
        countries=countries,
        params=params,
    )
    with transaction.atomic():
        Rule.objects.select_for_update().get(pk=rule.pk)
        last = rule.versions.order_by("-number").values_list("number", flat=True).first() or 0
        version = RuleVersion.objects.create(
            rule=rule,
            number=last + 1,
            enabled=enabled,
            category=category,
            channel=channel,
            countries=sorted({c.upper() for c in countries}),
            effect=effect,
            params=dict(params),
            note=note,
            created_by=user if user is not None and user.pk else None,  # type: ignore[misc]
        )
        audit_append(
            actor=Actor.user(user.pk) if user is not None and user.pk else Actor.system(),
            action="rule.version_created",
            object_type="rule",
            object_id=rule.key,
            payload={
                "kind": rule.kind,
                "version": version.number,
                "enabled": enabled,
                "effect": effect,
                "scope": {"category": category, "channel": channel, "countries": version.countries},
                "params": version.params,
                "note": note,
            },
        )
        rules_cache_clear()  # this process sees its own change at once; others by the generation or the marker
        transaction.on_commit(rules_cache_clear)
    return version


def rule_create(
    *, key: str, kind: str, description: str = "", user: AbstractBaseUser | None = None, **version: Any
) -> Rule:
    """A new rule with its first version (see rule_version_create for ``version``)."""
    with transaction.atomic():
        rule = Rule.objects.create(key=key, kind=kind, description=description)
        rule_version_create(rule=rule, user=user, **version)
    return rule
