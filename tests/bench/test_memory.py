"""P6's memory figure: the first and last tenth of the messages compared; RSS read from /proc."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bench.latency import percentile
from bench.memory import RssSample, memory_figure, process_rss, tree_rss

MB = 1024 * 1024


def test_flat_when_last_tenth_within_ten_percent_of_first():
    samples = [RssSample(done, (100 + done // 100) * MB) for done in range(0, 1001, 50)]
    figure = memory_figure(samples, 1000)
    assert figure.first_mb == pytest.approx(100.33, abs=0.01)  # 0, 50 and 100 done
    assert figure.last_mb == pytest.approx(109.33, abs=0.01)  # 900, 950 and 1000 done
    assert figure.flat and figure.peak_mb == 110


def test_growth_past_ten_percent_is_not_flat():
    samples = [RssSample(0, 100 * MB), RssSample(500, 105 * MB), RssSample(1000, 120 * MB)]
    assert not memory_figure(samples, 1000).flat
    assert memory_figure(samples, 1000).change == pytest.approx(0.2)


def test_each_process_is_compared_alone():
    # The main process stays flat; its child grows 30% (hidden in the sum: 200 → 230 MB, +15%).
    samples = [
        RssSample(done, (100 + 100 + grown) * MB, ((10, 0, 100 * MB), (11, 10, (100 + grown) * MB)))
        for done, grown in ((0, 0), (500, 15), (1000, 30))
    ]
    figure = memory_figure(samples, 1000)
    main, child = figure.processes
    assert (main.pid, main.role, main.flat) == (10, "main", True)
    assert (child.pid, child.role) == (11, "child")
    assert child.change == pytest.approx(0.3) and not child.flat
    assert child.peak_mb == 130 and figure.change == pytest.approx(0.15)


def test_no_samples_gives_an_empty_figure():
    assert memory_figure([], 10).samples == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_tree_rss_counts_this_process():
    assert tree_rss([os.getpid()]) > 10 * MB


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_process_rss_names_each_child_with_its_parent():
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        found = {pid: parent for pid, parent, rss in process_rss([os.getpid()]) if rss > 0}
    finally:
        child.communicate()
    assert found[os.getpid()] == 0 and found[child.pid] == os.getpid()


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50
    assert percentile(values, 0.99) == 99
    assert percentile([7.0], 0.99) == 7
    assert percentile([], 0.5) == 0
