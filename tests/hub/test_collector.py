"""The collector as a web process has it (hub.collector): what hub.wsgi and the bench share."""

from __future__ import annotations

import gc

from hub.collector import WEB_GC_THRESHOLD, collector_as_web


def test_the_bench_measures_with_the_web_collector_and_restores_it_after() -> None:
    threshold, frozen = gc.get_threshold(), gc.get_freeze_count()
    with collector_as_web():
        assert gc.get_threshold()[0] == WEB_GC_THRESHOLD
        assert gc.get_freeze_count() > 0  # the import graph is out of the collector's sight
    assert gc.get_threshold() == threshold
    if not frozen:  # a process not tuned before is not left tuned
        assert gc.get_freeze_count() == 0
