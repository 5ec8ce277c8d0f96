"""A database of its own for the CLI tests, on the same server as the session's.

The demo catalog must not leak into the database other suites share (its warehouses
would take part in their routing decisions), so these tests create and drop their own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import scratch_database


@pytest.fixture(scope="module")
def cli_database_url(database_url: str) -> Iterator[str]:
    with scratch_database(database_url, "oms_cli") as url:
        yield url
