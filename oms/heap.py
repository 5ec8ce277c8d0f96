"""Keep the garbage collector's full passes off the request path.

CPython's full (generation 2) collection walks every tracked object. A long-running API or
worker holds a few hundred thousand of them that never die: imported modules, FastAPI's
routes, pydantic and SQLAlchemy schemas, the Temporal SDK. Measured during the scan bench
(bench/RESULTS.md, 2026-11-27 "garbage collector"), each full pass stopped the API for
80-120 ms and the worker for up to 250 ms, a handful of times a minute: every scan in
flight waited that long, which is what a person's p99 is made of.

``gc.freeze()`` moves everything alive at that moment into a permanent generation the
collector no longer walks (the pattern CPython documents for long-lived processes), so a
full pass only looks at what was created since. Nothing frozen is garbage: the
:func:`gc.collect` before it frees what startup left behind first.
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> int:
    """Collect once, then exempt every surviving object from later collections.

    Call when start-up is done (imports, app and worker built, connections opened).
    Returns how many objects were frozen, for the log.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
