"""The time-skipping test server, one per test module that asks for it.

Modules using ``skipping_worker`` define ``QUEUE``, the task queue their orders start on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from integrations.sandbox import SandboxBehaviour
from oms.settings import SEARCH_ATTRIBUTES, Settings
from tests.conftest import venv_binary
from workers.worker import build_worker

_SNAKE = {"Keyword": "KEYWORD", "KeywordList": "KEYWORD_LIST", "Bool": "BOOL", "Int": "INT"}


@pytest.fixture(scope="module")
async def skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=venv_binary("temporal-test-server"),
        data_converter=pydantic_data_converter,
    )
    # The test server rejects an upsert of an unknown attribute (the workflow task fails
    # with BadSearchAttributes and retries forever), but it does accept registration.
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={
                name: IndexedValueType.Value(f"INDEXED_VALUE_TYPE_{_SNAKE[kind]}")
                for name, kind in SEARCH_ATTRIBUTES.items()
            },
        )
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="module")
async def skipping_worker(
    request: pytest.FixtureRequest,
    skipping_env: WorkflowEnvironment,
    sessions: async_sessionmaker[AsyncSession],
    database_url: str,
) -> AsyncIterator[Worker]:
    worker = build_worker(
        skipping_env.client,
        sessions,
        Settings(OMS_DATABASE_URL=database_url, OMS_TASK_QUEUE=request.module.QUEUE),
        behaviour=SandboxBehaviour(latency_ms=(1, 5), failure_rate=0),
    )
    async with worker:
        yield worker
