"""`manage.py bench --smoke` runs the real pipeline and the naive baseline end to end (no timing asserted)."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from tests.services import REDIS_BROKER_URL, broker_reachable
from tests.worker import publishing_to, purge_queues


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_bench_smoke_writes_figures_and_counts_one_call_per_message(tmp_path, settings):
    broker = REDIS_BROKER_URL if not broker_reachable(REDIS_BROKER_URL) else "filesystem://"
    settings.CELERY_BROKER_URL = broker
    purge_queues(broker)
    out = tmp_path / "bench.json"
    with publishing_to(broker):
        call_command("bench", "--smoke", "--json", str(out))
    result = json.loads(out.read_text())
    p1 = result["p1_dispatch"]
    assert p1["pipeline_messages"] == p1["pipeline_provider_calls"] == 200
    assert p1["naive_messages"] == p1["naive_provider_calls"] == 100
    assert p1["pipeline_per_s"] > 0 and p1["naive_per_s"] > 0
    assert result["renders_per_s"] > 0
