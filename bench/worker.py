"""The Celery app of the workers the bench starts (``celery -A bench.worker worker``): the hub's
own app, plus what only the bench needs, loaded only here so that production workers never
register a bench task:

- the naive baseline's task (``bench.naive.naive_send``);
- cProfile of every task when ``HUB_PROFILE_DIR`` is set (the bench's ``--profile``);
- tracemalloc when ``HUB_MEMTRACE_DIR`` is set (see ``bench.memtrace``).
"""

from __future__ import annotations

from bench.memtrace import memtrace_connect
from bench.profiling import profiling_connect
from hub.celery import app

__all__ = ["app"]

# Imported with the apps' tasks modules, once Django is set up (``bench.naive``).
app.autodiscover_tasks(["bench"], related_name="naive")

# Each does nothing unless its variable is set.
profiling_connect()
memtrace_connect()
