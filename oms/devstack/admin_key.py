"""The admin key ``oms dev`` prints: kept in the data dir (0600), made again when the
database no longer knows it."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

ADMIN_KEY_FILE = "admin.key"


def ensure_admin_key(database_url: str, key_file: Path) -> tuple[str, bool]:
    """The admin key in ``key_file``, created (and written 0600) when missing or stale.

    Returns ``(key, created)``. A key file that no longer matches the database (the
    database was reset, or the key revoked) is replaced rather than printed as if valid.
    """
    existing = key_file.read_text().strip() if key_file.exists() else ""
    key, created = asyncio.run(_admin_key(database_url, existing))
    if created:
        tmp = key_file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key + "\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, key_file)
    return key, created


async def _admin_key(database_url: str, existing: str) -> tuple[str, bool]:
    from store.db import create_engine, sessionmaker
    from store.keys import create_key, verify_key

    engine = create_engine(database_url, pool_size=1)
    try:
        async with sessionmaker(engine)() as session, session.begin():
            if existing:
                principal = await verify_key(session, existing)
                if principal is not None and principal.role == "admin":
                    return existing, False
            key, _ = await create_key(session, "admin", name="oms dev admin")
            return key, True
    finally:
        await engine.dispose()
