"""The ``oms`` command line: argument parsing, keys against a real database, dev args."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from oms.cli import build_parser
from oms.devstack import ensure_admin_key, prune_dead_handles, temporal_command
from oms.settings import SEARCH_ATTRIBUTES, Settings
from store.db import create_engine, sessionmaker
from store.keys import verify_key


def _run_oms(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "oms.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_parser_knows_every_command() -> None:
    parser = build_parser()
    for argv in (
        ["dev"],
        ["api"],
        ["worker"],
        ["migrate"],
        ["seed"],
        ["road"],
        ["keys", "create", "--role", "staff", "--warehouse", "WH-PDX"],
        ["keys", "revoke", "abc"],
    ):
        assert parser.parse_args(argv).func is not None
    with pytest.raises(SystemExit):
        parser.parse_args(["keys", "create", "--role", "superuser"])


@pytest.mark.parametrize(
    ("value", "factor"), [("off", None), ("OFF", None), ("0", None), ("60", 60.0), ("2.5", 2.5)]
)
def test_sandbox_road_is_a_speed_factor_or_off(
    monkeypatch: pytest.MonkeyPatch, value: str, factor: float | None
) -> None:
    monkeypatch.setenv("OMS_SANDBOX_ROAD", value)
    assert Settings().sandbox_road == factor


def test_sandbox_road_refuses_nonsense(monkeypatch: pytest.MonkeyPatch) -> None:
    for value in ("-1", "fast"):
        monkeypatch.setenv("OMS_SANDBOX_ROAD", value)
        with pytest.raises(ValueError):
            Settings()


def test_road_without_a_database_url_says_so(tmp_path: Path) -> None:
    env = {"OMS_DATABASE_URL": "", "OMS_DATA_DIR": str(tmp_path)}
    result = _run_oms("road", env=env)
    assert result.returncode != 0 and "OMS_DATABASE_URL is not set" in result.stderr


def test_temporal_command_carries_ports_pragmas_and_search_attributes(tmp_path: Path) -> None:
    settings = Settings(
        TEMPORAL_ADDRESS="127.0.0.1:7300", OMS_TEMPORAL_UI_PORT=8301, TEMPORAL_NAMESPACE="oms"
    )
    cmd = temporal_command(settings, tmp_path)
    joined = " ".join(cmd)
    assert cmd[1:3] == ["server", "start-dev"]
    assert f"--db-filename {tmp_path / 'temporal.db'}" in joined
    assert "--port 7300" in joined and "--ui-port 8301" in joined
    assert "--ip 127.0.0.1" in joined and "--namespace oms" in joined
    assert "journal_mode=wal" in joined and "synchronous=normal" in joined
    for name, kind in SEARCH_ATTRIBUTES.items():
        assert f"--search-attribute {name}={kind}" in joined


def test_keys_create_prints_a_working_key(cli_database_url: str) -> None:
    done = _run_oms(
        "keys",
        "create",
        "--role",
        "staff",
        "--warehouse",
        "WH-NJ",
        "--name",
        "picker 7",
        env={"OMS_DATABASE_URL": cli_database_url},
    )
    assert done.returncode == 0, done.stderr
    key = done.stdout.strip()
    assert key.startswith("oms_")

    import asyncio

    async def check() -> None:
        engine = create_engine(cli_database_url, pool_size=1)
        try:
            async with sessionmaker(engine)() as s:
                principal = await verify_key(s, key)
                assert principal is not None
                assert (principal.role, principal.warehouse) == ("staff", "WH-NJ")
        finally:
            await engine.dispose()

    asyncio.run(check())


def test_keys_create_refuses_a_staff_key_without_warehouse(cli_database_url: str) -> None:
    done = _run_oms("keys", "create", "--role", "staff", env={"OMS_DATABASE_URL": cli_database_url})
    assert done.returncode == 2
    assert "warehouse" in done.stderr


def test_migrate_without_a_database_url_says_so(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OMS_DATABASE_URL"}
    env["OMS_DATA_DIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "oms.cli", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "OMS_DATABASE_URL" in done.stderr


def test_admin_key_is_created_once_then_reused(cli_database_url: str, tmp_path: Path) -> None:
    key_file = tmp_path / "admin.key"
    key, created = ensure_admin_key(cli_database_url, key_file)
    assert created and key_file.read_text().strip() == key
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert ensure_admin_key(cli_database_url, key_file) == (key, False)
    # A key file the database doesn't know (reset database) is replaced, not trusted.
    key_file.write_text("oms_deadbeef.not-a-key\n")
    new_key, created = ensure_admin_key(cli_database_url, key_file)
    assert created and new_key != key


def test_dead_handles_are_pruned(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    (tmp_path / ".handle_pids.json").write_text(f"[{os.getpid()}, {dead.pid}]")
    prune_dead_handles(tmp_path)
    assert (tmp_path / ".handle_pids.json").read_text() == f"[{os.getpid()}]"
