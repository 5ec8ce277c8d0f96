"""``oms keys revoke``: a revoked key stops verifying; an unknown id is an error."""

from __future__ import annotations

import asyncio

from store.db import create_engine, sessionmaker
from store.keys import verify_key
from tests.cli.test_cli import _run_oms


def _verifies(url: str, key: str) -> bool:
    async def check() -> bool:
        engine = create_engine(url, pool_size=1)
        try:
            async with sessionmaker(engine)() as s:
                return await verify_key(s, key) is not None
        finally:
            await engine.dispose()

    return asyncio.run(check())


def test_keys_revoke_by_id_and_by_whole_key(cli_database_url: str) -> None:
    env = {"OMS_DATABASE_URL": cli_database_url}
    keys = []
    for _ in range(2):
        made = _run_oms("keys", "create", "--role", "ops", env=env)
        assert made.returncode == 0, made.stderr
        keys.append(made.stdout.strip())
    first, second = keys
    first_id = first.removeprefix("oms_").split(".")[0]
    assert _verifies(cli_database_url, first)

    done = _run_oms("keys", "revoke", first_id, env=env)
    assert done.returncode == 0, done.stderr
    assert f"{first_id} revoked" in done.stderr
    assert not _verifies(cli_database_url, first)
    assert _verifies(cli_database_url, second)  # only that key

    done = _run_oms("keys", "revoke", second, env=env)  # the whole key names its id
    assert done.returncode == 0, done.stderr
    assert not _verifies(cli_database_url, second)
    assert second not in done.stdout + done.stderr  # the secret is never echoed

    again = _run_oms("keys", "revoke", first_id, env=env)
    assert again.returncode == 0  # revoking twice is harmless


def test_keys_revoke_unknown_id_fails(cli_database_url: str) -> None:
    done = _run_oms(
        "keys", "revoke", "0123456789abcdef", env={"OMS_DATABASE_URL": cli_database_url}
    )
    assert done.returncode == 1
    assert "no key 0123456789abcdef" in done.stderr
