"""API keys: created random, stored hashed, looked up by id, compared in constant time.

A key reads ``oms_<key_id>.<secret>``. Only ``sha256(key)`` is stored, so a leaked table
grants nothing; the ``key_id`` prefix makes lookup one primary-key read instead of hashing
against every row. Used by the API (``POST /api/v1/keys``) and the CLI (``oms keys create``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.tables import ApiKey

ROLES = ("admin", "ops", "staff", "integration")
PREFIX = "oms_"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the verified key's id, role and (for staff) warehouse."""

    key_id: str
    role: str
    warehouse: str | None = None
    name: str | None = None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_key(key: str) -> str | None:
    """The key id of a well-formed key, else None."""
    if not key.startswith(PREFIX) or "." not in key:
        return None
    key_id = key[len(PREFIX) :].split(".", 1)[0]
    return key_id if 0 < len(key_id) <= 32 else None


async def create_key(
    session: AsyncSession, role: str, warehouse: str | None = None, name: str | None = None
) -> tuple[str, str]:
    """Create a key and return ``(key, key_id)``; the key is never retrievable again.

    The caller commits.

    Raises:
        ValueError: unknown role, or a staff key without a warehouse.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if role == "staff" and not warehouse:
        raise ValueError("a staff key is bound to one warehouse")
    key_id = secrets.token_hex(8)
    key = f"{PREFIX}{key_id}.{secrets.token_urlsafe(32)}"
    session.add(
        ApiKey(key_id=key_id, key_hash=hash_key(key), role=role, warehouse=warehouse, name=name)
    )
    await session.flush()
    return key, key_id


async def verify_key(session: AsyncSession, key: str) -> Principal | None:
    """The principal for a presented key, or None if unknown, malformed or revoked."""
    key_id = parse_key(key)
    if key_id is None:
        return None
    row = await session.get(ApiKey, key_id)
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.key_hash, hash_key(key)):
        return None
    return Principal(key_id=row.key_id, role=row.role, warehouse=row.warehouse, name=row.name)


async def revoke_key(session: AsyncSession, key_id: str) -> bool:
    """Revoke a key; True if it existed (revoking twice is harmless). The caller commits."""
    exists = await session.scalar(select(ApiKey.key_id).where(ApiKey.key_id == key_id))
    if exists is None:
        return False
    await session.execute(
        update(ApiKey)
        .where(ApiKey.key_id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )
    return True
