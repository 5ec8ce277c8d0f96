"""Order workflows that fail on purpose, for the watchdog and alert tests: a real
``OrderWorkflow``-typed execution whose activity fails, or whose workflow task fails,
until the test fixes it (``BROKEN``)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

#: What the test breaks and then fixes (the workflow runs outside the sandbox to read it).
BROKEN = {"activity": True, "task": True}


@activity.defn(name="injected_dependency")
async def injected_dependency() -> str:
    if BROKEN["activity"]:
        raise RuntimeError("the dependency is down (injected)")
    return "ok"


@workflow.defn(name="OrderWorkflow", sandboxed=False)
class InjectedOrder:
    """``mode`` ``activity``: calls a dependency that fails until fixed; ``task``: its
    workflow task raises until fixed (as after a deploy of a bug)."""

    def __init__(self) -> None:
        self.finished = False

    @workflow.run
    async def run(self, mode: str) -> None:
        if mode == "task" and BROKEN["task"]:
            raise RuntimeError("a bug in the new deploy (injected)")
        if mode == "activity":
            await workflow.execute_activity(
                "injected_dependency",
                start_to_close_timeout=timedelta(seconds=5),
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(milliseconds=100), backoff_coefficient=1.0
                ),
            )
        await workflow.wait_condition(lambda: self.finished)

    @workflow.signal
    def finish(self) -> None:
        self.finished = True
