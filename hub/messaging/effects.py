"""What happens because a message's status changed: one ordered, explicit registry.

Each app that reacts to status changes registers its effect once, in its ``AppConfig.ready``
(messaging: the rollups and fallback routing; callbacks: the status callbacks; journeys will
add theirs). ``messages_transition`` runs every effect, in order, once per batch of applied
changes, inside the transaction that applies them: an effect may write rows that must commit
with the change and register ``transaction.on_commit`` work; a transition that rolls back
leaves nothing of any effect's writes, and its on-commit work never runs. Changes that were
refused, or reported about a message already final, run no effect.

Effects run after the batch's timeline events and audit records are written. An effect must
stay cheap (a query or two per batch): it runs in every status change's transaction. An
effect that locks rows (the rollups' upsert) must lock them in a fixed order (sorted keys).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

if TYPE_CHECKING:
    from hub.messaging.lifecycle import Change


@dataclass(frozen=True)
class AppliedChanges:
    """One batch of applied status changes: ``previous[i]`` is the status ``changes[i]`` moved
    its message from; ``changed_at`` is the rows' new ``status_changed_at``, ``occurred_at``
    the time on their timeline events."""

    changes: Sequence[Change]
    previous: Sequence[str]
    source: str
    changed_at: datetime
    occurred_at: datetime
    # Messages whose leaving "accepted" their maker counted already (the intake writes their
    # ``AcceptedPending`` rows with them): the rollups do not count it again.
    acceptance_counted: frozenset[UUID] = frozenset()

    def with_previous(self) -> Iterator[tuple[Change, str]]:
        return zip(self.changes, self.previous, strict=True)


Effect = Callable[[AppliedChanges], None]


@dataclass(frozen=True)
class Registered:
    name: str
    order: int
    effect: Effect


_registry: dict[str, Registered] = {}


def register(name: str, effect: Effect, *, order: int) -> None:
    """Run ``effect`` after every batch of applied status changes, after the effects of lower
    ``order`` (ties by name). Registering the same name again with the same function is a
    no-op (``ready`` may run twice in tests); with another function it is an error."""
    existing = _registry.get(name)
    if existing is not None and (existing.effect is not effect or existing.order != order):
        raise ValueError(f"A status-change effect named {name!r} is already registered.")
    _registry[name] = Registered(name, order, effect)


def unregister(name: str) -> None:
    """Remove an effect (for tests that register their own)."""
    _registry.pop(name, None)


def effects_registered() -> list[Registered]:
    """The effects in the order they run."""
    return sorted(_registry.values(), key=lambda r: (r.order, r.name))


def effects_run(applied: AppliedChanges) -> None:
    """Run every registered effect once with this batch (nothing when it is empty)."""
    if not applied.changes:
        return
    for registered in effects_registered():
        registered.effect(applied)
