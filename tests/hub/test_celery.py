"""Garbage collection in worker processes (hub.celery): a batch's cyclic garbage is collected
when the task ends, not left for CPython's rare full collections (issue 8, P6)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from hub import celery as hub_celery


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def _task(*, eager: bool = False) -> SimpleNamespace:
    return SimpleNamespace(request=SimpleNamespace(is_eager=eager))


@pytest.fixture
def worker_collector() -> Iterator[None]:
    """This process as a tuned worker, with automatic collection off so only the hook collects."""
    was_enabled = gc.isenabled()
    gc.disable()
    hub_celery._Collector.worker_tuned = True
    try:
        yield
    finally:
        hub_celery._Collector.worker_tuned = False
        if was_enabled:
            gc.enable()


def _garbage_promoted_during_a_task() -> weakref.ref[_Cycle]:
    """A task whose objects lived through a young collection (a batch), then became garbage."""
    hub_celery._note_young_collections()
    alive = _Cycle()
    gc.collect(0)  # the collection a large batch triggers while its objects are alive
    ref = weakref.ref(alive)
    del alive
    return ref


def test_a_batch_is_collected_when_its_task_ends(worker_collector: None) -> None:
    task = _task()
    ref = _garbage_promoted_during_a_task()
    assert ref() is not None  # garbage in a reference cycle: only a collection frees it
    hub_celery._collect_after_a_batch(task=task)
    assert ref() is None


def test_a_small_task_is_not_followed_by_a_collection(worker_collector: None) -> None:
    hub_celery._note_young_collections()
    ref = weakref.ref(_Cycle())  # no young collection ran during this task
    hub_celery._collect_after_a_batch(task=_task())
    assert ref() is not None
    gc.collect()


@pytest.mark.parametrize("where", ["eager", "not a worker"])
def test_only_worker_tasks_collect(worker_collector: None, where: str) -> None:
    if where == "not a worker":
        hub_celery._Collector.worker_tuned = False
    task = _task(eager=where == "eager")
    ref = _garbage_promoted_during_a_task()
    hub_celery._collect_after_a_batch(task=task)
    assert ref() is not None
    gc.collect()
