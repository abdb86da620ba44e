"""cProfile in worker processes, switched on by ``HUB_PROFILE_DIR`` (the bench's ``--profile``).

Each worker child profiles the tasks it runs and writes ``<dir>/worker-<pid>.prof`` when it
stops; ``profile_summary`` merges them into the functions where the time went.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
from pathlib import Path
from typing import Any

from celery.signals import task_postrun, task_prerun, worker_process_shutdown

PROFILE_DIR_ENV = "HUB_PROFILE_DIR"
_profiler = cProfile.Profile()


def profiling_connect() -> None:
    """Profile this worker's tasks if ``HUB_PROFILE_DIR`` is set (called at Celery app load)."""
    if os.environ.get(PROFILE_DIR_ENV):
        task_prerun.connect(_start, weak=False)
        task_postrun.connect(_stop, weak=False)
        worker_process_shutdown.connect(_dump, weak=False)


def _start(**_: Any) -> None:
    _profiler.enable()


def _stop(**_: Any) -> None:
    _profiler.disable()


def _dump(**_: Any) -> None:
    folder = Path(os.environ[PROFILE_DIR_ENV])
    folder.mkdir(parents=True, exist_ok=True)
    _profiler.dump_stats(str(folder / f"worker-{os.getpid()}.prof"))


def profile_summary(folder: Path, *, top: int = 25) -> str:
    """The merged profiles in ``folder``: the top functions by own time and by cumulative time."""
    files = sorted(str(p) for p in folder.glob("worker-*.prof") if p.stat().st_size)
    if not files:
        return f"no profiles in {folder}"
    out = io.StringIO()
    stats = pstats.Stats(*files, stream=out)
    stats.strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()
