"""P6: worker memory while the pipeline runs, read from ``/proc`` (Linux).

A sampler thread sums the resident set of every worker process tree (the Celery main process
and its pool children) twice a second, beside how many messages the provider had received.
"Flat" compares the mean of the samples taken during the first 10% of the messages with the
mean during the last 10%: within 10% is flat. The same comparison is made for each process
alone, so a child that grows is seen even when the sum hides it.

The sum counts twice the pages a forked child still shares with its parent (the imported
code and data: about half of each child's resident set), so it is not the memory the workers
take from the machine; it is what each process would be charged by a per-process limit.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.background import Background

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass(frozen=True)
class RssSample:
    done: int  # messages handed to the provider so far
    rss_bytes: int  # every worker process tree together
    # Each process alone: (pid, parent pid, resident bytes).
    processes: tuple[tuple[int, int, int], ...] = ()


class _Change:
    first_mb: float
    last_mb: float

    @property
    def change(self) -> float:
        """Relative change from the first tenth to the last (0.05 is +5%)."""
        return (self.last_mb - self.first_mb) / self.first_mb if self.first_mb else 0.0

    @property
    def flat(self) -> bool:
        return abs(self.change) <= 0.10


@dataclass(frozen=True)
class ProcessMemory(_Change):
    pid: int
    role: str  # "main" (the Celery worker process) or "child" (a pool process)
    first_mb: float
    last_mb: float
    peak_mb: float


@dataclass(frozen=True)
class MemoryFigure(_Change):
    messages: int
    samples: int
    first_mb: float  # mean over the first 10% of the messages
    last_mb: float  # mean over the last 10%
    peak_mb: float
    processes: tuple[ProcessMemory, ...] = ()


def _children(parents: set[int]) -> dict[int, int]:
    """Direct children of ``parents`` with their parent, from each process's stat line (field
    4 is the ppid)."""
    found: dict[int, int] = {}
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
            found[int(entry.name)] = int(fields[1])
    return found


def process_rss(pids: Sequence[int]) -> tuple[tuple[int, int, int], ...]:
    """(pid, parent pid, resident bytes) of these processes and their children; a root's
    parent is given as 0, and gone processes are left out."""
    roots = dict.fromkeys(pids, 0)
    found = []
    for pid, parent in {**roots, **_children(set(roots))}.items():
        try:
            resident = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
        found.append((pid, parent, resident * PAGE_SIZE))
    return tuple(found)


def tree_rss(pids: Sequence[int]) -> int:
    """Resident bytes of these processes and their children (gone processes count 0)."""
    return sum(rss for _, _, rss in process_rss(pids))


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
            processes = process_rss(self.pids)
            self.samples.append(RssSample(self.done(), sum(p[2] for p in processes), processes))
            self.stopping.wait(self.interval)

    def figure(self, messages: int) -> MemoryFigure:
        """The samples summed up over a run of ``messages`` messages."""
        return memory_figure(self.samples, messages)


MB = 1024 * 1024


def _first_last_peak(points: Sequence[tuple[int, int]], messages: int) -> tuple[float, float, float]:
    """Of (messages done, bytes) points in time order: the mean MB over the first tenth of the
    messages, over the last tenth, and the largest."""
    tenth = max(1, messages // 10)
    first = [b for done, b in points if done <= tenth] or [points[0][1]]
    last = [b for done, b in points if done >= messages - tenth] or [points[-1][1]]
    return sum(first) / len(first) / MB, sum(last) / len(last) / MB, max(b for _, b in points) / MB


def memory_figure(samples: Sequence[RssSample], messages: int) -> MemoryFigure:
    if not samples:
        return MemoryFigure(messages, 0, 0.0, 0.0, 0.0)
    first, last, peak = _first_last_peak([(s.done, s.rss_bytes) for s in samples], messages)
    series: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for sample in samples:
        for pid, parent, rss in sample.processes:
            series.setdefault((pid, parent), []).append((sample.done, rss))
    processes = tuple(
        ProcessMemory(pid, "main" if parent == 0 else "child", *_first_last_peak(points, messages))
        for (pid, parent), points in sorted(series.items(), key=lambda item: (item[0][1] != 0, item[0]))
    )
    return MemoryFigure(messages, len(samples), first, last, peak, processes)
