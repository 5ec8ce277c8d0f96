"""Request-scoped dependencies: the DB session, the Temporal client, settings.

All ``async def``, even those that only read ``app.state``: FastAPI runs a plain ``def``
dependency in its thread pool, a thread hop per request for nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.client import Client

from oms.settings import Settings
from store.scans import ScanStore


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; handlers commit what they mean to keep."""
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessions
    async with maker() as session:
        yield session


async def get_autocommit(request: Request) -> AsyncEngine:
    """The engine in autocommit mode, for single statements (no BEGIN/COMMIT).

    Callers open a connection only around each statement, so none is held while they wait
    on a workflow."""
    engine: AsyncEngine = request.app.state.autocommit
    return engine


async def get_scans(request: Request) -> ScanStore:
    store: ScanStore = request.app.state.scans
    return store


async def get_client(request: Request) -> Client:
    client: Client = request.app.state.temporal
    return client


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


Session = Annotated[AsyncSession, Depends(get_session)]
Autocommit = Annotated[AsyncEngine, Depends(get_autocommit)]
Scans = Annotated[ScanStore, Depends(get_scans)]
Temporal = Annotated[Client, Depends(get_client)]
AppSettings = Annotated[Settings, Depends(get_settings)]
