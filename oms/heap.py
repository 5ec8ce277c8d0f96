"""Keep the garbage collector's full passes off the request path.

CPython's full (generation 2) collection walks every tracked object. A long-running API or
worker holds a few hundred thousand of them that never die: imported modules, FastAPI's
routes, pydantic and SQLAlchemy schemas, the Temporal SDK. Measured during the scan bench
(docs/decisions/0014-gc-freeze-and-heap-sweep.md), each full pass stopped the API for
80-120 ms and the worker for up to 250 ms, a handful of times a minute: every scan in
flight waited that long, which is what a person's p99 is made of.

``gc.freeze()`` moves everything alive at that moment into a permanent generation the
collector no longer walks (the pattern CPython documents for long-lived processes), so a
full pass only looks at what was created since. Nothing frozen is garbage: the
:func:`gc.collect` before it frees what startup left behind first.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable


def freeze_startup_objects() -> int:
    """Collect once, then exempt every surviving object from later collections.

    Call when start-up is done (imports, app and worker built, connections opened).
    Returns how many objects were frozen, for the log.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


class RefreezingHeap:
    """Keep the worker's full passes short while its heap grows with cached workflows.

    The worker's long-lived objects are made after start-up: every workflow in the SDK's
    sticky cache (up to 1000) holds a few hundred tracked objects (its models, coroutines,
    handlers) for as long as it stays cached. A full pass walks all of them: measured in
    the scan bench (docs/decisions/0014-gc-freeze-and-heap-sweep.md) 130 ms with 400
    workflows cached and 300-450 ms with a full cache, every 20-60 s under load, each one
    stopping every scan in flight for that long.

    So after each full pass the survivors are frozen too, and the next full pass walks
    only what was promoted since (15-45 ms measured, with 2-6 k young cycles still freed
    by each). The price: a cycle that dies while frozen (an evicted or finished workflow's
    objects) is not freed until the heap is thawed. Every ``sweep_every`` seconds the next
    full pass thaws everything first and sweeps the whole heap once, which bounds that
    garbage to one period's worth. Off by default (``OMS_WORKER_HEAP_SWEEP_MINUTES=0``):
    the held garbage cost more memory than the pauses were worth (docs/decisions/0012).
    """

    def __init__(self, sweep_every: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.sweep_every = sweep_every
        self._clock = clock
        self._last_sweep = clock()
        self._sweeping = False
        self.full_passes = 0
        self.sweeps = 0

    def install(self) -> None:
        """Start watching full passes (idempotent)."""
        if self._on_gc not in gc.callbacks:
            gc.callbacks.append(self._on_gc)

    def uninstall(self) -> None:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase != "stop" or info["generation"] != 2:
            return
        self.full_passes += 1
        now = self._clock()
        if self._sweeping:  # this pass walked the thawed heap: a period's dead cycles freed
            self._sweeping = False
            self.sweeps += 1
            self._last_sweep = now
        if now - self._last_sweep >= self.sweep_every:
            gc.unfreeze()  # the next full pass walks (and frees from) everything
            self._sweeping = True
        else:
            gc.freeze()
