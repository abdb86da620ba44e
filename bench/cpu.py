"""Where a run's CPU went, by component: the workers, PostgreSQL's backends for our database,
the fake providers, this process. Read from ``/proc`` (Linux); empty elsewhere. A backend
that closes during a run takes its CPU with it, so the bench keeps workers' connections open
for the whole run (``DATABASE_CONN_MAX_AGE``)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from django.db import connection

PROC = Path("/proc")


def _cpu_seconds(pid: int) -> float:
    try:
        fields = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime and stime (fields 14 and 15 of stat; 12 and 13 after the command name).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pids: Iterable[int]) -> set[int]:
    """``pids`` and every process descending from them."""
    parents: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = list(pids)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(parents.get(pid, []))
    return found


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot, all cores summed (``/proc/stat``;
    0 elsewhere). Over a run, what is not ours was spent by whatever else the machine runs."""
    try:
        fields = (PROC / "stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return 0.0
    # user nice system idle iowait irq softirq steal ...: busy is all but idle and iowait.
    ticks = [int(f) for f in fields[:8]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def database_backends() -> set[int]:
    """The PostgreSQL server processes serving our database (other databases' are not ours)."""
    if connection.vendor != "postgresql":
        return set()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        return {int(pid) for (pid,) in cursor.fetchall()}


class CpuMeter:
    """CPU seconds used by named groups of processes between ``start`` and ``stop``."""

    def __init__(self, groups: dict[str, Iterable[int]]) -> None:
        self.groups = {name: set(pids) for name, pids in groups.items()}
        self.before: dict[str, dict[int, float]] = {}

    @staticmethod
    def available() -> bool:
        return (PROC / "self" / "stat").exists()

    def _read(self) -> dict[str, dict[int, float]]:
        return {name: {pid: _cpu_seconds(pid) for pid in pids} for name, pids in self.groups.items()}

    def start(self) -> None:
        self.before = self._read()

    def stop(self, *, late: dict[str, Iterable[int]] | None = None) -> dict[str, float]:
        """Seconds per group. ``late`` adds processes that appeared during the run (new
        database connections): all of their CPU counts."""
        for name, pids in (late or {}).items():
            self.groups.setdefault(name, set()).update(pids)
        after = self._read()
        # A process that ended during the run reads as 0: its CPU is lost, never subtracted.
        return {
            name: round(
                sum(max(0.0, t - self.before.get(name, {}).get(pid, 0.0)) for pid, t in times.items()), 2
            )
            for name, times in after.items()
        }


def process_tree(pids: Iterable[int]) -> set[int]:
    return _children(pids) if CpuMeter.available() else set()
