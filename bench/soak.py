"""Soak (issue 9, item 17): a bounded run through the real pipeline (real broker, real worker
processes) with the fake Twilio failing at a set rate: transient 5xx, timeouts, connection
resets and permanent 4xx.

Each message goes to its own number and the fake follows a script per number (a few failures,
then success, or a permanent error), so that every call can be checked against its message.
At the end every message is ``sent`` or final, or visibly waiting for its next attempt
(``queued`` with ``not_before``, as the API and admin show it); the fake accepted exactly one
call per message sent; no number was called again after a permanent error; no message was
called more often than its script and ``HUB_MAX_SEND_ATTEMPTS`` allow.

``python manage.py bench --soak N`` runs it; ``tests/bench/test_soak.py`` asserts on it.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs
from uuid import UUID

from django.conf import settings
from django.db.models import Count

from bench.fixtures import queued_messages_create
from bench.workers import BENCH_APP, run_dir, worker_processes
from hub.celery import send_queue
from hub.messaging.dispatch import enqueue
from hub.messaging.lifecycle import FINAL_STATUSES
from hub.messaging.models import Message
from hub.messaging.models import MessageStatus as S

if TYPE_CHECKING:
    from bench.fakes.server import Call, FakeServer, Injection

QUEUE = send_queue("sms", "transactional")
OK, SERVER_ERROR, TIMEOUT, RESET, PERMANENT = "ok", "5xx", "timeout", "reset", "4xx"
TRANSIENT = (SERVER_ERROR, TIMEOUT, RESET)
# At most this many transient failures before success: the backoff after them (5-10 s, then
# 10-20 s) keeps a soak short, and the attempts stay under HUB_MAX_SEND_ATTEMPTS.
MAX_TRANSIENT = 2
# The workers' Twilio timeout; a "timeout" answer comes later than this.
PROVIDER_TIMEOUT = 3.0
DONE = FINAL_STATUSES | {S.SENT}


def soak_phone(index: int) -> str:
    return f"+44790{index:07d}"


def _to(call: Call) -> str:
    return parse_qs(call.body.decode()).get("To", [""])[0]


class ProviderScript:
    """What the fake answers each number's calls, in order: drawn once (seeded) per number,
    then followed call by call. Records what every call got."""

    def __init__(self, phones: Sequence[str], *, error_rate: float, seed: int) -> None:
        rng = random.Random(seed)  # noqa: S311 - a reproducible script, not security
        self.planned: dict[str, list[str]] = {}
        for phone in phones:
            plan: list[str] = []
            while len(plan) < MAX_TRANSIENT and rng.random() < error_rate:
                plan.append(rng.choice((*TRANSIENT, PERMANENT)))
                if plan[-1] == PERMANENT:
                    break
            if not plan or plan[-1] != PERMANENT:
                plan.append(OK)
            self.planned[phone] = plan
        self.answers: dict[str, list[str]] = defaultdict(list)
        self._decided: dict[int, tuple[Call, str]] = {}
        self._lock = threading.Lock()

    def decide(self, call: Call) -> str:
        """This call's answer (the same however often the fake asks)."""
        with self._lock:
            if id(call) in self._decided:
                return self._decided[id(call)][1]
            phone = _to(call)
            plan, given = self.planned.get(phone, []), self.answers[phone]
            # Past its script (a call too many): the fake's own answer, i.e. accepted.
            kind = plan[len(given)] if len(given) < len(plan) else OK
            given.append(kind)
            self._decided[id(call)] = (call, kind)
            return kind

    def injections(self) -> list[Injection]:
        from bench.fakes.server import Injection
        from bench.fakes.twilio import twilio_error

        def when(kind: str) -> Any:
            return lambda call: self.decide(call) == kind

        return [
            Injection(
                503, twilio_error(503, 20503, "Service unavailable"), times=None, match=when(SERVER_ERROR)
            ),
            Injection(
                503,
                twilio_error(503, 20503, "Service unavailable"),
                times=None,
                delay=PROVIDER_TIMEOUT + 0.5,
                match=when(TIMEOUT),
            ),
            Injection(0, times=None, reset=True, match=when(RESET)),
            Injection(
                400, twilio_error(400, 21211, "Invalid 'To' number"), times=None, match=when(PERMANENT)
            ),
        ]


@dataclass(frozen=True)
class SoakReport:
    messages: int
    seconds: float
    statuses: dict[str, int]
    # Not done but visibly waiting for a next attempt (status and not_before set).
    waiting: int
    # Neither done nor visibly waiting: lost.
    unaccounted: int
    # Calls the fake received (each one answered by the script).
    provider_calls: int
    # Calls the fake accepted (answered 201), and messages recorded as sent.
    accepted_calls: int
    sent: int
    answers: dict[str, int]
    # Numbers the fake accepted more than one call for.
    double_sends: int
    # Numbers called again after a permanent error.
    permanent_retried: int
    # Messages called more often than their script, or more than HUB_MAX_SEND_ATTEMPTS.
    over_called: int
    # Messages whose calls differ from their script (fewer: not finished; more: over-called).
    off_script: int
    # Messages with fewer ``attempts`` than calls made for them (a call not counted).
    attempts_below_calls: int
    # Attempts whose call never reached the fake: the client gave up first (a timeout on a
    # loaded machine); retried like any timeout.
    attempts_without_call: int
    max_calls_per_message: int
    needs_reconciliation: int
    log_dir: str = field(default="")


def _report(
    ids: list[UUID], script: ProviderScript, seconds: float, log_dir: Path, *, fake_calls: int
) -> SoakReport:
    rows = list(Message.objects.filter(id__in=ids).values_list("to", "status", "attempts", "not_before"))
    statuses = Counter(status for _, status, _, _ in rows)
    waiting = sum(1 for _, s, _, nb in rows if s in (S.QUEUED, S.DEFERRED) and nb is not None)
    done = sum(n for s, n in statuses.items() if s in DONE)
    answers = script.answers
    limit = settings.HUB_MAX_SEND_ATTEMPTS
    return SoakReport(
        messages=len(ids),
        seconds=seconds,
        statuses=dict(statuses),
        waiting=waiting,
        unaccounted=len(ids) - done - waiting,
        provider_calls=fake_calls,
        accepted_calls=sum(a.count(OK) for a in answers.values()),
        sent=statuses.get(S.SENT, 0),
        answers=dict(Counter(kind for a in answers.values() for kind in a)),
        double_sends=sum(1 for a in answers.values() if a.count(OK) > 1),
        permanent_retried=sum(1 for a in answers.values() if PERMANENT in a[:-1]),
        over_called=sum(
            1 for p, a in answers.items() if len(a) > len(script.planned.get(p, [])) or len(a) > limit
        ),
        off_script=sum(1 for to, *_ in rows if answers.get(to, []) != script.planned[to]),
        attempts_below_calls=sum(1 for to, _, attempts, _ in rows if attempts < len(answers.get(to, []))),
        attempts_without_call=sum(max(0, attempts - len(answers.get(to, []))) for to, _, attempts, _ in rows),
        max_calls_per_message=max((len(a) for a in answers.values()), default=0),
        needs_reconciliation=Message.objects.filter(id__in=ids, needs_reconciliation=True).count(),
        log_dir=str(log_dir),
    )


def _settled(ids: list[UUID]) -> bool:
    return not Message.objects.filter(id__in=ids).exclude(status__in=DONE).aggregate(n=Count("id"))["n"]


def soak_run(
    *,
    count: int,
    server: FakeServer,
    provider_env: dict[str, str],
    broker_url: str,
    error_rate: float = 0.15,
    seed: int = 9,
    workers: int = 1,
    concurrency: int = 2,
    timeout: float = 120.0,
) -> SoakReport:
    """Send ``count`` messages through real workers while the fake fails at ``error_rate`` per
    call; wait until every one is done (or ``timeout``) and report what happened."""
    phones = [soak_phone(i) for i in range(count)]
    script = ProviderScript(phones, error_rate=error_rate, seed=seed)
    for injection in script.injections():
        server.inject(injection)
    ids = queued_messages_create(count=count, phone="", phones=phones)
    log_dir = run_dir("soak-")
    env = {**provider_env, "TWILIO_TIMEOUT_SECONDS": str(PROVIDER_TIMEOUT)}
    try:
        with worker_processes(
            broker_url,
            log_dir,
            count=workers,
            pool="prefork",
            concurrency=concurrency,
            extra_env=env,
            queues=(QUEUE,),
            app_module=BENCH_APP,
        ):
            started = time.perf_counter()
            enqueue(ids, channel="sms", category="transactional")
            deadline = time.monotonic() + timeout
            while not _settled(ids) and time.monotonic() < deadline:
                time.sleep(0.5)
            seconds = time.perf_counter() - started
        return _report(ids, script, seconds, log_dir, fake_calls=len(server.calls))
    finally:
        server.clear()


def soak_command(options: dict[str, Any], *, write: Any) -> SoakReport:
    """``bench --soak N``: the soak against the fake Twilio, its figures printed and written
    as JSON (``--json``, else under ``var/bench/``)."""
    from bench.fakes.twilio import fake_twilio_env, start_fake_twilio

    twilio = start_fake_twilio()
    try:
        report = soak_run(
            count=options["soak"],
            server=twilio,
            provider_env=fake_twilio_env(twilio),
            broker_url=settings.CELERY_BROKER_URL,
            error_rate=options["error_rate"],
            workers=options["workers"],
            concurrency=options["concurrency"],
            timeout=options["timeout"],
        )
    finally:
        twilio.stop()
    for name, value in asdict(report).items():
        write(f"{name:>24}  {value}")
    path = Path(
        options["json_path"] or settings.VAR_DIR / "bench" / f"soak-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"soak": asdict(report)}, indent=2))
    write(f"\nJSON written to {path}")
    return report
