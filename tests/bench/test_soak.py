"""Soak (issue 9, item 17): ``bench --soak`` through real workers on a real broker, the fake
Twilio failing one call in seven (5xx, timeouts, resets, permanent 4xx). The figures come
from bench.soak; this test holds them to SPEC §3."""

from __future__ import annotations

import json
import os

import pytest
from django.core.management import call_command

from tests.services import REDIS_BROKER_URL
from tests.worker import publishing_to, purge_queues

MESSAGES = int(os.environ.get("HUB_SOAK_MESSAGES", "2000"))


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_soak_with_injected_errors_loses_nothing_and_sends_nothing_twice(tmp_path, settings, figure):
    settings.CELERY_BROKER_URL = REDIS_BROKER_URL
    purge_queues(REDIS_BROKER_URL)
    out = tmp_path / "soak.json"
    with publishing_to(REDIS_BROKER_URL):
        call_command(
            "bench", "--soak", str(MESSAGES), "--workers", "2", "--timeout", "240", "--json", str(out)
        )
    soak = json.loads(out.read_text())["soak"]
    for name in (
        "messages",
        "statuses",
        "waiting",
        "provider_calls",
        "answers",
        "accepted_calls",
        "double_sends",
    ):
        figure(name, soak[name])
    # Every error kind was injected, and each was met as SPEC §3 and the dispatch rules say.
    assert set(soak["answers"]) == {"ok", "5xx", "timeout", "reset", "4xx"}, soak
    # Nothing lost: every message is sent or final, or visibly waiting for its next attempt.
    assert soak["unaccounted"] == 0, soak
    assert soak["statuses"].get("sent", 0) + soak["statuses"].get("failed", 0) + soak["waiting"] == MESSAGES
    # Nothing sent twice: the provider accepted exactly one call per message sent.
    assert soak["accepted_calls"] == soak["sent"], soak
    assert soak["double_sends"] == 0, soak
    # Permanent errors are never retried; retries stay within the script and the attempt limit.
    assert soak["permanent_retried"] == 0, soak
    assert soak["over_called"] == 0, soak
    assert soak["attempts_below_calls"] == 0, soak
    assert soak["provider_calls"] == sum(soak["answers"].values()), soak
    # Transient errors (timeouts included: the fake never accepted those calls) are not
    # ambiguous, so nothing needs reconciling.
    assert soak["needs_reconciliation"] == 0, soak
