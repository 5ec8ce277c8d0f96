"""The API and worker keep the collector's full passes short: start-up objects exempt, and
the worker's survivors frozen after each full pass with a periodic whole-heap sweep."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from oms.heap import RefreezingHeap, freeze_startup_objects


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


@pytest.fixture
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # give the test process its heap back


def test_freezing_keeps_live_objects_and_frees_startup_garbage(unfrozen: None) -> None:
    kept = _Node()
    garbage = _Node()
    gone = weakref.ref(garbage)
    del garbage

    frozen = freeze_startup_objects()

    assert gone() is None, "start-up garbage must be collected, not frozen forever"
    assert frozen == gc.get_freeze_count() > 0
    assert kept.me is kept


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def heap() -> Iterator[tuple[RefreezingHeap, _Clock]]:
    clock = _Clock()
    watcher = RefreezingHeap(sweep_every=60.0, clock=clock)
    watcher.install()
    watcher.install()  # idempotent: one callback
    yield watcher, clock
    watcher.uninstall()
    gc.unfreeze()


def _full_pass() -> None:
    gc.collect(2)


def test_survivors_of_a_full_pass_are_frozen_so_the_next_walks_only_new_objects(
    heap: tuple[RefreezingHeap, _Clock],
) -> None:
    watcher, _ = heap
    assert gc.callbacks.count(watcher._on_gc) == 1
    cached = [_Node() for _ in range(5000)]  # stand-ins for cached workflows' state
    _full_pass()
    assert watcher.full_passes == 1
    assert gc.get_freeze_count() >= 5000
    assert len(gc.get_objects(generation=2)) < 1000, "a full pass walks the frozen heap again"
    assert all(n.me is n for n in cached)  # frozen, not freed


def test_cycles_that_die_frozen_are_swept_once_the_period_is_over(
    heap: tuple[RefreezingHeap, _Clock],
) -> None:
    watcher, clock = heap
    evicted = _Node()  # a cached workflow's cycle ...
    gone = weakref.ref(evicted)
    _full_pass()  # ... survives a pass and is frozen
    del evicted  # ... then the workflow is evicted: its cycle is garbage, but frozen
    _full_pass()
    assert gone() is not None, "frozen garbage waits for the sweep"

    clock.now = 59.0
    _full_pass()
    assert gone() is not None and watcher.sweeps == 0

    clock.now = 61.0
    _full_pass()  # the period is over: this pass thaws the heap ...
    assert gc.get_freeze_count() == 0
    _full_pass()  # ... and the next one walks all of it
    assert gone() is None
    assert watcher.sweeps == 1
    assert gc.get_freeze_count() > 0  # and freezing starts again for the next period
    clock.now = 100.0
    _full_pass()
    assert gc.get_freeze_count() > 0, "the period restarts at the sweep"
