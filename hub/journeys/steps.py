"""The steps: what each kind does when a run enters it, and when a waiting run is woken in it.

Each returns what the run does next: go to a step (``Go``), sleep (``Sleep``) or end (``End``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.contacts.models import Contact
from hub.journeys.conditions import ConditionError, condition_evaluate
from hub.journeys.context import End, Go, Outcome, RunContext, Send, Sleep, Wake, condition_holds
from hub.journeys.definition import duration
from hub.journeys.models import Event, JourneyRun, RunEntryKind, RunStatus
from hub.journeys.sending import SendResult, step_reached, step_result_now

K = RunEntryKind
# How long after a deferred message's time the run looks at it again.
DEFERRED_RECHECK = timedelta(seconds=15)


# --- Entering a step --------------------------------------------------------------------


def send_outcome(ctx: RunContext, step: Mapping[str, Any], result: SendResult) -> Outcome:
    step_id = step["id"]
    ctx.record_step(
        step_id,
        outcome=result.outcome,
        status=result.messages[0]["status"] if result.messages else "",
        block_reason=result.block_reason,
        notification=str(result.notification_id or ""),
    )
    ctx.log(
        K.MESSAGE,
        step_id,
        outcome=result.outcome,
        notification=str(result.notification_id or ""),
        messages=list(result.messages),
        block_reason=result.block_reason,
        error=result.error,
    )
    if result.outcome == "deferred":
        # Quiet hours and the like: the run waits for the message's time; it is not dropped.
        # Look again shortly after its time, once beat has released (or re-deferred) it.
        until = max(result.not_before or ctx.now, ctx.now) + DEFERRED_RECHECK
        return Sleep(until, {"kind": "deferred", "step": step_id})
    if result.outcome == "blocked":
        return Go(ctx.after(step, "on_blocked"))
    if result.outcome == "failed" and result.notification_id is None:
        return End(RunStatus.FAILED, f"step {step_id}: {result.error}")
    return Go(ctx.after(step))


def _send(ctx: RunContext, step: Mapping[str, Any], data: Mapping[str, Any]) -> Outcome:
    """The engine makes the send (with other runs' sends when it advances many) and hands the
    result to ``send_outcome``."""
    return Send(step, data)


def _enter_send(ctx: RunContext, step: Mapping[str, Any]) -> Outcome:
    entry = ctx.run.entry_event
    data = {**((entry.data or {}) if entry else {}), **step.get("data", {})}
    return _send(ctx, step, data)


def local_time_after(now: datetime, at: str, zone_name: str) -> datetime:
    try:
        zone = ZoneInfo(zone_name) if zone_name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    hour, minute = (int(part) for part in at.split(":"))
    local_now = now.astimezone(zone)
    candidate = datetime.combine(local_now.date(), time(hour, minute), tzinfo=zone)
    if candidate <= local_now:
        candidate = datetime.combine(local_now.date() + timedelta(days=1), time(hour, minute), tzinfo=zone)
    return candidate


def _enter_wait(ctx: RunContext, step: Mapping[str, Any]) -> Outcome:
    if "duration" in step:
        return Sleep(ctx.now + duration(step["duration"]), {"kind": "time"})
    return Sleep(local_time_after(ctx.now, step["until"], ctx.contact.timezone), {"kind": "time"})


def _enter_wait_for(ctx: RunContext, step: Mapping[str, Any]) -> Outcome:
    until = ctx.now + duration(step["timeout"])
    if "event" in step:
        return Sleep(until, {"kind": "event", "event": step["event"]})
    target = step["message"]
    reached = step_reached(run=ctx.run, step_id=target["step"], statuses=target["status"])
    if reached:
        ctx.record_step(step["id"], outcome="matched", status=reached)
        return Go(ctx.after(step, "on_match"))
    return Sleep(until, {"kind": "message", "step": target["step"], "statuses": list(target["status"])})


def _enter_branch(ctx: RunContext, step: Mapping[str, Any]) -> Outcome:
    values = ctx.values()
    for index, branch in enumerate(step["branches"]):
        try:
            matched = condition_evaluate(branch["condition"], values)
        except ConditionError as exc:
            ctx.log(K.BRANCH, step["id"], branch=index, condition=branch["condition"], error=str(exc)[:300])
            continue
        if matched:
            label = branch.get("label", f"branch {index + 1}")
            ctx.record_step(step["id"], outcome="branch", branch=label)
            ctx.log(K.BRANCH, step["id"], taken=label, condition=branch["condition"], next=branch["next"])
            return Go(branch["next"])
    ctx.record_step(step["id"], outcome="default", branch="default")
    nxt = ctx.after(step, "default")
    ctx.log(K.BRANCH, step["id"], taken="default", reason="no condition was true", next=nxt)
    return Go(nxt)


def digest_key(step: Mapping[str, Any], event: Event) -> str:
    return str((event.data or {}).get(step["key"], "")) if "key" in step else ""


def _digest_item(event: Event) -> dict[str, Any]:
    return {"name": event.name, "data": event.data or {}, "occurred_at": event.occurred_at.isoformat()}


def _enter_digest(ctx: RunContext, step: Mapping[str, Any]) -> Outcome:
    entry = ctx.run.entry_event
    items = [_digest_item(entry)] if entry is not None and entry.name == step["event"] else []
    key = digest_key(step, entry) if entry is not None else ""
    ctx.run.state["digest"] = {"step": step["id"], "key": key, "events": items}
    return _digest_next(ctx, step, ctx.now + duration(step["window"]))


def _digest_next(ctx: RunContext, step: Mapping[str, Any], until: datetime) -> Outcome:
    gathered = ctx.run.state["digest"]
    if len(gathered["events"]) >= step.get("max_events", 10**9):
        return _digest_close(ctx, step, reason="count")
    return Sleep(until, {"kind": "digest", "event": step["event"], "key": gathered["key"]})


def _digest_close(ctx: RunContext, step: Mapping[str, Any], *, reason: str) -> Outcome:
    gathered = ctx.run.state.pop("digest")
    events = gathered["events"]
    ctx.log(K.DIGEST, step["id"], closed=reason, count=len(events))
    data = {**step.get("data", {}), "events": [e["data"] for e in events], "count": len(events)}
    return _send(ctx, step, data)


def _enter_exit(ctx: RunContext, step: Mapping[str, Any]) -> Outcome:
    return End(RunStatus.COMPLETED, f"exit step {step['id']}")


ENTER = {
    "send": _enter_send,
    "wait": _enter_wait,
    "wait_for": _enter_wait_for,
    "branch": _enter_branch,
    "digest": _enter_digest,
    "exit": _enter_exit,
}


# --- Resuming a waiting step ------------------------------------------------------------


def resume_step(ctx: RunContext, step: Mapping[str, Any], wake: Wake) -> Outcome:
    waiting = ctx.run.waiting_for
    kind = waiting.get("kind")
    until = ctx.run.wake_at
    if kind == "deferred":
        result = step_result_now(run=ctx.run, step_id=step["id"])
        if result.outcome == "deferred":
            return Sleep(max(result.not_before or ctx.now, ctx.now) + DEFERRED_RECHECK, waiting)
        return send_outcome(ctx, step, result)
    if kind == "digest":
        if wake.kind == "event" and wake.event is not None:
            ctx.run.state["digest"]["events"].append(_digest_item(wake.event))
            ctx.log(
                K.DIGEST, step["id"], event=str(wake.event.id), count=len(ctx.run.state["digest"]["events"])
            )
            return _digest_next(ctx, step, until or ctx.now)
        return _digest_close(ctx, step, reason="window")
    if step["type"] == "wait_for":
        if wake.kind == "time":
            ctx.record_step(step["id"], outcome="timeout")
            return Go(ctx.after(step, "on_timeout"))
        matched: dict[str, Any] = {"outcome": "matched"}
        if wake.event is not None:
            matched["event"] = {"name": wake.event.name, "data": wake.event.data or {}}
        if wake.status:
            matched["status"] = wake.status
        ctx.record_step(step["id"], **matched)
        return Go(ctx.after(step, "on_match"))
    return Go(ctx.after(step))  # a wait whose time came


def run_awaits_event(run: JourneyRun, event: Event, contact: Contact) -> bool:
    """Whether this waiting run's ``wait_for`` (or digest) takes ``event``."""
    waiting = run.waiting_for
    if run.status != RunStatus.WAITING or waiting.get("event") != event.name:
        return False
    step = next(s for s in run.version.definition["steps"] if s["id"] == run.step)
    if waiting.get("kind") == "digest":
        return digest_key(step, event) == str(waiting.get("key", ""))
    if waiting.get("kind") != "event":
        return False
    return "condition" not in step or condition_holds(
        step["condition"], contact=contact, event=event, run=run
    )
