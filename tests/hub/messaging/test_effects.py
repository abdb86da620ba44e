"""Status-change effects (hub.messaging.effects): one ordered registry, filled at app start;
each effect runs once per batch of applied changes, inside the transaction that applies
them, and a transition that is refused or rolled back leaves nothing of any effect."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.db import connection, transaction

from audit.services import Actor
from hub.messaging import effects
from hub.messaging.lifecycle import Change, IllegalTransition, messages_transition
from hub.messaging.models import Message
from hub.messaging.models import MessageStatus as S
from tests.factories import make_message

pytestmark = pytest.mark.django_db


@pytest.fixture
def probe():
    """An effect that records what it saw, and whether it ran inside a transaction that
    already holds the new status."""
    seen: list[dict[str, object]] = []

    def effect(applied: effects.AppliedChanges) -> None:
        statuses = dict(
            Message.objects.filter(id__in=[c.message_id for c in applied.changes]).values_list("id", "status")
        )
        seen.append(
            {
                "changes": [(c.message_id, p, c.to) for c, p in applied.with_previous()],
                "in_transaction": connection.in_atomic_block,
                # Each row holds the status of the batch's last change to it.
                "rows_moved": statuses == {c.message_id: c.to for c in applied.changes},
                "source": applied.source,
            }
        )
        transaction.on_commit(lambda: seen.append({"committed": True}))

    effects.register("test_probe", effect, order=150)
    yield seen
    effects.unregister("test_probe")


def test_the_apps_fill_the_registry_in_order_at_start():
    names = [r.name for r in effects.effects_registered()]
    assert names == ["rollups", "fallback_routing", "status_callbacks", "provider_prices", "journeys"]


def test_a_probe_runs_between_the_effects_of_lower_and_higher_order(probe):
    names = [r.name for r in effects.effects_registered()]
    assert names == [
        "rollups",
        "test_probe",
        "fallback_routing",
        "status_callbacks",
        "provider_prices",
        "journeys",
    ]


def test_registering_another_function_under_a_taken_name_is_refused():
    with pytest.raises(ValueError, match="already registered"):
        effects.register("rollups", lambda applied: None, order=100)


def test_each_effect_runs_once_per_batch_with_each_applied_change_once(
    probe, contact, live_template, django_capture_on_commit_callbacks
):
    queued = [make_message(template=live_template, contact=contact, outcome="queued") for _ in range(2)]
    final = make_message(template=live_template, contact=contact, outcome="delivered")
    probe.clear()
    with django_capture_on_commit_callbacks(execute=True):
        result = messages_transition(
            [
                Change(queued[0].id, S.SENDING),
                Change(queued[1].id, S.DELIVERED),  # illegal from queued: refused
                Change(final.id, S.FAILED),  # already final: recorded only
                Change(queued[0].id, S.SENT),  # the same message again in the batch
            ],
            actor=Actor.system(),
            source="test",
        )
    assert len(result.refused) == 1 and len(result.recorded_only) == 1
    runs = [s for s in probe if "changes" in s]
    assert len(runs) == 1
    (run,) = runs
    assert run["changes"] == [(queued[0].id, S.QUEUED, S.SENDING), (queued[0].id, S.SENDING, S.SENT)]
    assert run["in_transaction"] and run["rows_moved"] and run["source"] == "test"
    assert {"committed": True} in probe


def test_a_batch_with_nothing_applied_runs_no_effect(probe, contact, live_template):
    final = make_message(template=live_template, contact=contact, outcome="delivered")
    probe.clear()
    messages_transition([Change(final.id, S.FAILED)], actor=Actor.system(), source="test")
    assert probe == []


def test_a_refused_strict_transition_runs_no_effect(probe, contact, live_template):
    queued = make_message(template=live_template, contact=contact, outcome="queued")
    probe.clear()
    with pytest.raises(IllegalTransition):
        messages_transition(
            [Change(queued.id, S.SENDING), Change(queued.id, S.CANCELLED)],
            actor=Actor.system(),
            source="test",
            strict=True,
        )
    assert probe == []


def test_a_rolled_back_transition_keeps_nothing_of_its_effects(
    probe, contact, live_template, django_capture_on_commit_callbacks
):
    from hub.messaging.models import DailyRollup

    queued = make_message(template=live_template, contact=contact, outcome="queued")
    probe.clear()
    before = list(DailyRollup.objects.values_list("sent", flat=True))

    def transition_then_fail() -> None:
        with transaction.atomic():
            messages_transition(
                [Change(queued.id, S.SENDING), Change(queued.id, S.SENT)], actor=Actor.system(), source="t"
            )
            raise RuntimeError("the caller fails after the transition")

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        transition_then_fail()
    assert callbacks == []  # nothing any effect registered on commit runs
    assert {"committed": True} not in probe
    assert list(DailyRollup.objects.values_list("sent", flat=True)) == before  # rollups rolled back
    queued.refresh_from_db()
    assert queued.status == S.QUEUED


def test_messaging_imports_nothing_from_the_workspace():
    """Rollups are written by messaging; the workspace reads them. No upward import."""
    root = Path(__file__).resolve().parents[3] / "hub" / "messaging"
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            offenders += [f"{path.name}: {n}" for n in names if n.startswith("hub.workspace")]
    assert offenders == []
