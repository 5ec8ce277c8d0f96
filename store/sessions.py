"""Dashboard sessions: what a signed-in browser's cookie stands for.

The cookie holds a random session id (signed, so a tampered cookie is refused before any
read); only its SHA-256 is stored, so a leaked table opens no session. A session names the
key it was opened with, not the key itself: every request re-reads that key, so revoking
it ends its sessions at once. Each session has its own CSRF token.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.tables import ApiKey, DashboardSession


@dataclass(frozen=True)
class OpenSession:
    session_id: str  # the secret the cookie carries (signed)
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class SessionPrincipal:
    key_id: str
    role: str
    warehouse: str | None
    name: str | None
    csrf_token: str


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


async def open_session(session: AsyncSession, key_id: str, lifetime: timedelta) -> OpenSession:
    """Start a session for ``key_id`` (already verified); the caller commits. Expired
    sessions of the same key are swept on the way."""
    now = datetime.now(UTC)
    await session.execute(
        delete(DashboardSession).where(
            DashboardSession.key_id == key_id, DashboardSession.expires_at < now
        )
    )
    sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires = now + lifetime
    session.add(
        DashboardSession(
            session_hash=_digest(sid), key_id=key_id, csrf_token=csrf, expires_at=expires
        )
    )
    await session.flush()
    return OpenSession(sid, csrf, expires)


async def resolve_session(session: AsyncSession, session_id: str) -> SessionPrincipal | None:
    """The live key behind a session id; None when unknown, expired or the key revoked."""
    row = (
        await session.execute(
            select(DashboardSession, ApiKey)
            .join(ApiKey, ApiKey.key_id == DashboardSession.key_id)
            .where(DashboardSession.session_hash == _digest(session_id))
        )
    ).first()
    if row is None:
        return None
    sess, key = row
    if sess.expires_at <= datetime.now(UTC) or key.revoked_at is not None:
        return None
    return SessionPrincipal(key.key_id, key.role, key.warehouse, key.name, sess.csrf_token)


async def close_session(session: AsyncSession, session_id: str) -> None:
    """Sign out: the row goes, so the cookie is worthless on every API process."""
    await session.execute(
        delete(DashboardSession).where(DashboardSession.session_hash == _digest(session_id))
    )
