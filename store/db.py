"""Engine and session construction.

One async engine per process (API, worker); psycopg 3 drives both the async engine and
Alembic's synchronous migrations from the same URL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from psycopg_pool import AsyncConnectionPool
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def normalize_url(url: str) -> str:
    """Use the psycopg 3 driver whatever scheme the URL came with."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """The same database as a plain libpq URL (``postgresql://``), for psycopg itself."""
    return make_url(normalize_url(url)).set(drivername="postgresql").render_as_string(False)


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        normalize_url(url), pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def autocommit_pool(
    url: str, *, size: int, name: str, application_name: str, connect_wait: float
) -> AsyncIterator[AsyncConnectionPool]:
    """An open psycopg pool of autocommit connections (min 1, no ping on checkout), closed
    on exit: for single statements on a hot path, where SQLAlchemy's engine and BEGIN/COMMIT
    round trips cost more than the statement (the scan path, and its bench baseline)."""
    pool = AsyncConnectionPool(
        libpq_url(url),
        min_size=1,
        max_size=size,
        kwargs={"autocommit": True, "application_name": application_name},
        open=False,
        name=name,
        timeout=connect_wait,
    )
    await pool.open(wait=True)
    try:
        yield pool
    finally:
        await pool.close()
