"""`manage.py bench --smoke` runs the real pipeline and the naive baseline end to end, per channel
(no timing asserted)."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

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
