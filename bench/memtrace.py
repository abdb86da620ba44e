"""tracemalloc in worker processes, switched on by ``HUB_MEMTRACE_DIR`` (the bench's ``--memtrace``).

Each worker child starts tracing when it is forked. After its first ``HUB_MEMTRACE_WARMUP``
tasks (imports, connections and caches warmed up) it takes a baseline snapshot; then every
``HUB_MEMTRACE_EVERY`` tasks it appends to ``<dir>/memtrace-<pid>.txt`` the allocations that
grew most since that baseline, by line and by call stack. What keeps growing across reports is
what the process holds on to. ``HUB_MEMTRACE_FRAMES`` is the depth of the stacks kept; 0 traces nothing and writes only
the process's resident size, Python's and glibc's heaps (in use, free), every
``HUB_MEMTRACE_EVERY`` tasks, before and after a full collection (what a collection frees was
garbage waiting for one; what it does not free is held). Tracing slows a worker several times over: for finding growth,
not for timing.
"""

from __future__ import annotations

import ctypes
import gc
import os
import re
import sys
import tempfile
import tracemalloc
from pathlib import Path
from typing import Any

from celery.signals import task_postrun, worker_process_init

MEMTRACE_DIR_ENV = "HUB_MEMTRACE_DIR"
_TOP = 25


class _Tracer:
    def __init__(self, folder: Path, *, warmup: int, every: int, frames: int) -> None:
        self.folder = folder
        self.frames = frames
        self.warmup = warmup
        self.every = every
        self.tasks = 0
        self.baseline: tracemalloc.Snapshot | None = None

    def start(self, **_: Any) -> None:
        if self.frames:
            tracemalloc.start(self.frames)

    def task_done(self, task: Any = None, **_: Any) -> None:
        self.tasks += 1
        name = getattr(task, "name", "?").rsplit(".", 1)[-1]
        if not self.frames:  # the memory lines only: cheap enough for long runs
            if self.tasks % self.every == 0:
                before = f"{self.tasks} {name} gc {gc.get_count()}: {_process_memory()}"
                found = gc.collect()
                self._write([before, f"   after collecting {found} objects: {_process_memory()}"])
        elif self.tasks == self.warmup:
            self.baseline = self._snapshot()
        elif self.baseline is not None and (self.tasks - self.warmup) % self.every == 0:
            self._report()

    @staticmethod
    def _snapshot() -> tracemalloc.Snapshot:
        gc.collect()  # what is left is held, not garbage awaiting a collection
        return tracemalloc.take_snapshot().filter_traces(
            (
                tracemalloc.Filter(False, tracemalloc.__file__),
                tracemalloc.Filter(False, "<frozen *>"),
                tracemalloc.Filter(False, "*/fnmatch.py"),
                tracemalloc.Filter(False, "*/linecache.py"),
            )
        )

    def _report(self) -> None:
        assert self.baseline is not None  # noqa: S101 - set before any report
        now = self._snapshot()
        traced, peak = tracemalloc.get_traced_memory()
        lines = [
            f"== after {self.tasks} tasks: traced {traced / 2**20:.1f} MB (peak {peak / 2**20:.1f} MB), "
            f"{_process_memory()}",
            "-- growth by line",
            *(str(stat) for stat in now.compare_to(self.baseline, "lineno")[:_TOP]),
            "-- growth by stack (top 5)",
        ]
        for stat in now.compare_to(self.baseline, "traceback")[:5]:
            lines.append(f"{stat.size_diff / 1024:+.1f} KiB in {stat.count_diff:+d} blocks:")
            lines += [f"    {frame}" for frame in stat.traceback.format(most_recent_first=True)]
        self._write(lines)

    def _write(self, lines: list[str]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / f"memtrace-{os.getpid()}.txt").open("a") as out:
            out.write("\n".join(lines) + "\n")


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            *("arena", "ordblks", "smblks", "hblks", "hblkhd"),
            *("usmblks", "fsmblks", "uordblks", "fordblks", "keepcost"),
        )
    ]


def _pymalloc() -> str:
    """Python's small-object allocator: its arenas (1 MiB each) and the bytes live in them.
    ``sys._debugmallocstats`` writes to the C stderr, so that is pointed at a file meanwhile."""
    with tempfile.TemporaryFile("w+") as capture:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            os.dup2(capture.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        capture.seek(0)
        stats = capture.read()
    arenas = re.search(r"# arenas allocated current\s*=\s*([\d,]+)", stats)
    live = re.search(r"# bytes in allocated blocks\s*=\s*([\d,]+)", stats)
    if arenas is None or live is None:
        return "pymalloc ?"
    mib = int(arenas.group(1).replace(",", ""))
    return f"pymalloc {mib} arenas, {int(live.group(1).replace(',', '')) / 2**20:.1f} MB live"


def _process_memory() -> str:
    """Resident size; Python's arenas and what is live in them; how glibc's heap splits into
    memory in use and free (fragmentation)."""
    mb = 2**20
    resident = int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    text = f"rss {resident / mb:.1f} MB; {_pymalloc()}"
    try:
        mallinfo2 = ctypes.CDLL("libc.so.6").mallinfo2
    except (OSError, AttributeError):  # not glibc ≥ 2.33
        return text
    mallinfo2.restype = _MallInfo2
    info = mallinfo2()
    return (
        f"{text}; malloc: heap {info.arena / mb:.1f} MB + mmap {info.hblkhd / mb:.1f} MB, "
        f"in use {info.uordblks / mb:.1f} MB, free {info.fordblks / mb:.1f} MB"
    )


def memtrace_connect() -> None:
    """Trace this worker's allocations if ``HUB_MEMTRACE_DIR`` is set (called at Celery app load)."""
    folder = os.environ.get(MEMTRACE_DIR_ENV)
    if not folder:
        return
    tracer = _Tracer(
        Path(folder),
        warmup=int(os.environ.get("HUB_MEMTRACE_WARMUP", "5")),
        every=int(os.environ.get("HUB_MEMTRACE_EVERY", "20")),
        frames=int(os.environ.get("HUB_MEMTRACE_FRAMES", "6")),
    )
    worker_process_init.connect(tracer.start, weak=False)
    task_postrun.connect(tracer.task_done, weak=False)
