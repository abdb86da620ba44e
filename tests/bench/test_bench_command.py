"""`manage.py bench --smoke` runs every figure end to end at tiny sizes (no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.db import connection

from bench.workers import process_env
from tests.services import REDIS_BROKER_URL, broker_reachable
from tests.worker import publishing_to, purge_queues


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_bench_smoke_writes_figures_and_counts_provider_calls(tmp_path, settings):
    broker = REDIS_BROKER_URL if not broker_reachable(REDIS_BROKER_URL) else "filesystem://"
    settings.CELERY_BROKER_URL = broker
    purge_queues(broker)
    out = tmp_path / "bench.json"
    with publishing_to(broker):
        call_command("bench", "--smoke", "--json", str(out))
    result = json.loads(out.read_text())
    # P7: every single send over HTTP accepted and handed to the fake Twilio once, through the
    # documented deployment; the naive baseline beside it in the same run.
    p7 = result["p7_sends"]
    single = p7["single"]
    assert single["errors"] == 0 and single["accepted"] == single["notifications"] == 40
    assert single["provider_calls"] == 40 and single["end_to_end_per_s"] > 0
    assert single["p50_ms"] > 0 and single["accepted_per_s"] > 0
    assert p7["naive_baseline"]["messages"] == p7["naive_baseline"]["provider_calls"] == 20
    # P7b: the batch API, once it is served (until then the figure says it is not available).
    batch = p7["batch"]
    if batch["available"]:
        assert batch["errors"] == 0 and batch["accepted"] == batch["provider_calls"] == 40
        assert batch["requests"] == 4
    else:
        assert batch["notifications"] == batch["provider_calls"] == 0
    # P7b's floor view: the same batches, the worker stopped until the last answer (it sent
    # nothing meanwhile), then continued: the accepts alone, then the drain alone.
    paused = p7["batch_paused"]
    if batch["available"]:
        assert paused["paused"] and paused["errors"] == 0 and paused["sent_while_paused"] == 0
        assert paused["accepted"] == paused["provider_calls"] == 40
        assert paused["accepted_per_s"] > 0 and paused["drain_per_s"] > 0
        assert {"gunicorn", "postgres"} <= set(paused["accept_cpu"]) and "workers" in paused["cpu"]
    email, sms = result["p1_dispatch"]["email"], result["p1_dispatch"]["sms"]
    for figures in (email, sms):
        # Every message reached the provider exactly once, in the pipeline and in the baseline.
        assert figures["pipeline_messages"] == figures["pipeline_provider_units"] == 200
        assert figures["naive_messages"] == figures["naive_provider_calls"] == 100
        assert figures["pipeline_per_s"] > 0 and figures["naive_per_s"] > 0
    # Email shares one SendGrid request per batch; SMS is one Twilio call per message.
    assert email["pipeline_provider_calls"] == 2
    assert sms["pipeline_provider_calls"] == 200
    assert result["renders_per_s"] > 0 and result["decisions_per_s"] > 0

    # P2: every recipient handed to the provider once, each status change audited.
    p2 = result["p2_broadcast"]
    assert p2["recipients"] == p2["sent"] == 200
    assert p2["statuses"] == {"sent": 200}
    assert p2["provider_calls"] >= 200 and p2["audit_records"] > 200
    # P4: every transactional probe posted during the broadcast reached the provider.
    p4 = result["p4_latency"]
    assert p4["probes"] > 0 and p4["handed_off"] == p4["probes"]
    # P3: the API behind gunicorn accepted every request.
    p3 = result["p3_accepts"]
    assert p3["requests"] > 0 and p3["errors"] == 0
    # ... and its floor views, on the same deployment, answered every request too.
    assert set(p3["floors"]) == {"django", "drf"}
    assert all(f["requests"] > 0 and f["errors"] == 0 for f in p3["floors"].values())
    # P6: worker memory was sampled over the run.
    p6 = result["p6_memory"]
    assert p6["samples"] > 0 and p6["first_mb"] > 0
    if connection.vendor == "postgresql":
        # P5: the COPY-filled log (all but the last 1,000 records filled with their leaves, those
        # left to the sequencer, which is timed on them) verifies, and every kind of search ran.
        p5 = result["p5_search"]
        assert p5["verify_ok"] and p5["verify_records"] >= 3000
        assert p5["sequenced"] >= 1000 and p5["sequence_seconds"] > 0
        assert p5["queries"] >= 8
        # P5c: support's contact search ran each kind of search over the filled contacts.
        p5c = result["p5c_contact_search"]
        assert p5c["contacts"] >= 2000 and p5c["queries"] == 6
        # and a marketer's segments were counted over the same contacts (half are gold, none bronze).
        segments = result["p5c_segment_count"]
        assert segments["counts"] == 20 and segments["matched_by_segment"]["tier is bronze (nobody)"] == 0
        assert 0 < segments["matched_by_segment"]["tier is gold (half)"] < segments["contacts"]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_bench_runs_where_var_does_not_exist_yet(tmp_path, settings):
    """A fresh clone has no ``var/``: the bench makes it rather than crash (issue 20, point 9).
    Run as ``python manage.py bench`` is, in a process whose ``var/`` (``HUB_VAR_DIR``) does not
    exist, so it and the workers it starts agree on where the embedded broker lives."""
    broker = REDIS_BROKER_URL if not broker_reachable(REDIS_BROKER_URL) else "filesystem://"
    if broker != "filesystem://":
        purge_queues(broker)
    var = tmp_path / "var"
    out = tmp_path / "bench.json"
    command = [sys.executable, "manage.py", "bench", "--smoke", "--only", "p1", "--channels", "sms"]
    subprocess.run(  # noqa: S603 - our own argv
        [*command, "--json", str(out)],
        env=process_env(broker, {"HUB_VAR_DIR": str(var)}),
        cwd=settings.BASE_DIR,
        check=True,
        timeout=600,
    )
    assert json.loads(out.read_text())["p1_dispatch"]["sms"]["pipeline_provider_units"] == 200
    assert var.is_dir()


@pytest.mark.django_db(transaction=True)
def test_bench_journey_events_through_http_beside_the_service(tmp_path, settings):
    """J2 and J3 are measured twice: the service in this process, and the endpoint as callers
    reach it (gunicorn as deployed, concurrent clients, single and batch requests)."""
    broker = REDIS_BROKER_URL if not broker_reachable(REDIS_BROKER_URL) else "filesystem://"
    settings.CELERY_BROKER_URL = broker
    out = tmp_path / "bench.json"
    call_command("bench", "--smoke", "--only", "j2,j3", "--journey-clients", "4", "--json", str(out))
    result = json.loads(out.read_text())
    assert result["j2"]["events"] == result["j3"]["events"] == 200
    single, batch = result["j2_http"], result["j3_http"]
    assert single["errors"] == 0 and single["events"] == single["requests"] == 200
    assert batch["errors"] == 0 and batch["events"] == 200 and batch["requests"] == 1
    assert single["p50_ms"] > 0 and batch["events_per_s"] > 0


def test_the_bench_says_when_the_server_does_not_vacuum() -> None:
    from bench.command import autovacuum_note

    assert "autovacuum is off" in autovacuum_note("off")
    assert autovacuum_note("on") == autovacuum_note(None) == ""


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_bench_reads_the_servers_autovacuum() -> None:
    from bench.command import database_autovacuum

    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        (expected,) = cursor.fetchone()
    assert database_autovacuum() == expected
