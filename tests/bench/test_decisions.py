"""The bench helper decides the synthetic batch it builds and reports every outcome kind.
(Throughput is measured by the bench command, never asserted in tests.)"""

from __future__ import annotations

from bench.decisions import bench_decisions


def test_bench_decides_every_message_and_sees_all_outcomes():
    result = bench_decisions(3000, repeat=1)
    assert result.decisions == 3000 == sum(result.outcomes.values())
    assert set(result.outcomes) == {"allow", "block", "defer"}
    assert result.per_second > 0
