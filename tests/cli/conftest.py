"""A database of its own for the CLI tests, on the same server as the session's.

The demo catalog must not leak into the database other suites share (its warehouses
would take part in their routing decisions), so these tests create and drop their own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy.engine import make_url

from store.db import normalize_url
from store.migrate import upgrade


def _libpq(url: str) -> str:
    return make_url(normalize_url(url)).set(drivername="postgresql").render_as_string(False)


@pytest.fixture(scope="module")
def cli_database_url(database_url: str) -> Iterator[str]:
    name = f"oms_cli_{uuid.uuid4().hex[:10]}"
    admin = _libpq(database_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(database_url).set(database=name).render_as_string(False)
    upgrade(url)
    yield url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
