"""P6: worker memory while the pipeline runs, read from ``/proc`` (Linux).

A sampler thread sums the resident set of every worker process tree (the Celery main process
and its pool children) twice a second, beside how many messages the provider had received.
"Flat" compares the mean of the samples taken during the first 10% of the messages with the
mean during the last 10%: within 10% is flat.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from hub.bench.background import Background

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass(frozen=True)
class RssSample:
    done: int  # messages handed to the provider so far
    rss_bytes: int  # every worker process tree together


@dataclass(frozen=True)
class MemoryFigure:
    messages: int
    samples: int
    first_mb: float  # mean over the first 10% of the messages
    last_mb: float  # mean over the last 10%
    peak_mb: float

    @property
    def change(self) -> float:
        """Relative change from the first tenth to the last (0.05 is +5%)."""
        return (self.last_mb - self.first_mb) / self.first_mb if self.first_mb else 0.0

    @property
    def flat(self) -> bool:
        return abs(self.change) <= 0.10


def _children(parents: set[int]) -> set[int]:
    """Direct children of ``parents``, from each process's stat line (field 4 is the ppid)."""
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name (field 2) is in parentheses and may hold spaces: split after it.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) in parents:
            found.add(int(entry.name))
    return found


def tree_rss(pids: Sequence[int]) -> int:
    """Resident bytes of these processes and their children (gone processes count 0)."""
    roots = set(pids)
    total = 0
    for pid in roots | _children(roots):
        try:
            resident = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
        total += resident * PAGE_SIZE
    return total


class RssSampler(Background):
    """Samples ``tree_rss(pids)`` and ``done()`` every ``interval`` seconds until stopped."""

    def __init__(self, pids: Sequence[int], done: Callable[[], int], *, interval: float = 0.5) -> None:
        super().__init__("rss-sampler")
        self.pids = list(pids)
        self.done = done
        self.interval = interval
        self.samples: list[RssSample] = []

    def run(self) -> None:
        while not self.stopping.is_set():
            self.samples.append(RssSample(self.done(), tree_rss(self.pids)))
            self.stopping.wait(self.interval)

    def figure(self, messages: int) -> MemoryFigure:
        """The samples summed up over a run of ``messages`` messages."""
        return memory_figure(self.samples, messages)


def memory_figure(samples: Sequence[RssSample], messages: int) -> MemoryFigure:
    if not samples:
        return MemoryFigure(messages, 0, 0.0, 0.0, 0.0)
    tenth = max(1, messages // 10)
    first = [s.rss_bytes for s in samples if s.done <= tenth] or [samples[0].rss_bytes]
    last = [s.rss_bytes for s in samples if s.done >= messages - tenth] or [samples[-1].rss_bytes]
    mb = 1024 * 1024
    return MemoryFigure(
        messages=messages,
        samples=len(samples),
        first_mb=sum(first) / len(first) / mb,
        last_mb=sum(last) / len(last) / mb,
        peak_mb=max(s.rss_bytes for s in samples) / mb,
    )
