"""The API and worker exempt their start-up objects from the collector's full passes."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from oms.heap import freeze_startup_objects


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
