"""The step engine: advance one run from where it is until it waits or ends.

Callers hold the run's row lock (and the contact's, see ``hub.journeys.events``) inside a
transaction; everything a step does (its notification included) commits with the run's new
position, so a worker killed mid-step leaves the run where it was and nothing sent twice.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from contextlib import suppress

from django.utils import timezone

from hub.contacts.models import Contact
from hub.journeys.bulk import rows_save
from hub.journeys.context import End, Go, Outcome, RunContext, Send, Sleep, Wake
from hub.journeys.models import JourneyRun, RunEntryKind, RunStatus
from hub.journeys.sending import SendOrder, SendResult, runs_send
from hub.journeys.steps import ENTER, resume_step, send_outcome
from hub.journeys.timeline import Timeline

# Steps one advance may take without waiting: a definition that loops (branch back to an
# earlier step) fails the run rather than spin.
MAX_STEPS_PER_ADVANCE = 50
K = RunEntryKind


# --- The loop ---------------------------------------------------------------------------


def _finish(ctx: RunContext, outcome: Outcome) -> None:
    run = ctx.run
    if isinstance(outcome, Sleep):
        run.status = RunStatus.WAITING
        run.wake_at = outcome.until
        run.waiting_for = dict(outcome.waiting_for)
        ctx.log(
            K.WAIT,
            run.step,
            until=outcome.until.isoformat() if outcome.until else None,
            waiting_for=run.waiting_for,
        )
        return
    assert isinstance(outcome, End)  # noqa: S101 - Go and Send never reach here
    run.status = outcome.status
    run.wake_at = None
    run.waiting_for = {}
    run.ended_at = ctx.now
    kind = {RunStatus.COMPLETED.value: K.COMPLETED, RunStatus.FAILED.value: K.FAILED}.get(
        outcome.status, K.EXITED
    )
    ctx.log(kind, run.step, reason=outcome.reason)


Steps = Generator[SendOrder, SendResult, None]


def run_steps(run: JourneyRun, *, contact: Contact, timeline: Timeline, wake: Wake | None = None) -> Steps:
    """Advance ``run`` in memory from its current step (entering it, or resuming it with
    ``wake``) until it waits or ends. Yields each send it needs and takes back its result, so
    a caller may make the sends of many runs at once. Saves nothing."""
    ctx = RunContext(run, contact=contact, timeline=timeline)
    run.status = RunStatus.ACTIVE
    taken = 0
    if wake is not None:
        ctx.log(
            K.RESUMED, run.step, by=wake.kind, event=wake.event.name if wake.event else "", status=wake.status
        )
        outcome = resume_step(ctx, ctx.by_id[run.step], wake)
    else:
        run.step = ctx.steps[0]["id"]
        ctx.log(K.STEP_ENTERED, run.step, type=ctx.by_id[run.step]["type"])
        outcome = ENTER[ctx.by_id[run.step]["type"]](ctx, ctx.by_id[run.step])
        taken = 1
    while isinstance(outcome, Go | Send):
        if isinstance(outcome, Send):
            result = yield SendOrder(run, contact, outcome.step, outcome.data)
            outcome = send_outcome(ctx, outcome.step, result)
            continue
        next_id = outcome.next
        ctx.log(K.STEP_LEFT, run.step, next=next_id)
        if next_id is None:
            outcome = End(RunStatus.COMPLETED, "reached the end of the journey")
            break
        if taken >= MAX_STEPS_PER_ADVANCE:
            outcome = End(
                RunStatus.FAILED, f"more than {MAX_STEPS_PER_ADVANCE} steps without a wait (a loop?)"
            )
            break
        run.step = next_id
        step = ctx.by_id[next_id]
        ctx.log(K.STEP_ENTERED, next_id, type=step["type"])
        outcome = ENTER[step["type"]](ctx, step)
        taken += 1
    _finish(ctx, outcome)
    run.steps_taken += taken


def run_advance(run: JourneyRun, *, contact: Contact, timeline: Timeline, wake: Wake | None = None) -> None:
    """Advance ``run`` until it waits or ends, then save it. The caller holds the run's lock
    and flushes ``timeline``."""
    runs_advance([(run, contact, wake)], timeline=timeline)
    run.save()


def runs_advance(items: Sequence[tuple[JourneyRun, Contact, Wake | None]], *, timeline: Timeline) -> None:
    """Advance many runs together: the sends they reach at the same time are made in one
    intake call, round after round until every run waits or ends. Saves nothing (see
    ``runs_save``); the caller holds the runs' and contacts' locks and flushes ``timeline``."""
    pending: list[tuple[Steps, SendOrder]] = []
    for run, contact, wake in items:
        steps = run_steps(run, contact=contact, timeline=timeline, wake=wake)
        with suppress(StopIteration):
            pending.append((steps, next(steps)))
    while pending:
        results = runs_send([order for _, order in pending])
        still: list[tuple[Steps, SendOrder]] = []
        for (steps, _), result in zip(pending, results, strict=True):
            with suppress(StopIteration):
                still.append((steps, steps.send(result)))
        pending = still


# What an advance changes on a run.
SAVED_FIELDS = ("status", "step", "wake_at", "waiting_for", "state", "steps_taken", "ended_at", "updated_at")


# What an event may also change on a run (``run_end``, a goal reached).
ENDED_FIELDS = (*SAVED_FIELDS, "exit_event", "converted_at")


def runs_save(runs: Sequence[JourneyRun], fields: Sequence[str] = SAVED_FIELDS) -> None:
    """Write the advanced runs (their ``fields``) in one statement per 1,000."""
    now = timezone.now()
    for run in runs:
        run.updated_at = now
    rows_save(JourneyRun, runs, fields)


def run_end(run: JourneyRun, *, status: str, reason: str, timeline: Timeline, exit_event: str = "") -> None:
    """End ``run`` wherever it is (an exit event, a cancel); the caller holds its lock and
    saves it (``ENDED_FIELDS``)."""
    run.status = status
    run.wake_at = None
    run.waiting_for = {}
    run.ended_at = timeline.now
    run.exit_event = exit_event
    kind = K.CANCELLED if status == RunStatus.CANCELLED else K.EXITED
    timeline.add(run, kind, run.step, reason=reason, event=exit_event)
