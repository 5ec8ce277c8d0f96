"""The dashboard's session cookie and CSRF check.

The cookie carries a random session id signed with ``itsdangerous`` (a forged or edited
cookie is refused without a database read) and its sign-in time (so an old cookie expires
even if its row outlived it). It is ``HttpOnly`` (page scripts never see it),
``SameSite=Strict`` (another site's form or link does not send it) and ``Secure`` when the
request came over HTTPS. State-changing requests authenticated by the cookie must also
carry the session's CSRF token (form field ``csrf_token`` or header ``X-CSRF-Token``).
"""

from __future__ import annotations

import hmac
import logging
import secrets
from pathlib import Path

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from oms.settings import Settings

COOKIE = "oms_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

log = logging.getLogger(__name__)


def session_secret(settings: Settings) -> str:
    """The signing secret: the setting, else one kept under the data dir (created once),
    so every process of one machine signs alike and sign-ins survive a restart."""
    if settings.session_secret:
        return settings.session_secret
    path = Path(settings.data_dir) / "session.secret"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    secret = secrets.token_urlsafe(48)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secret)
    except OSError:  # a read-only data dir: sessions then last as long as this process
        log.warning("could not keep the session secret under %s", path.parent)
    return secret


class CookieSigner:
    """Signs and checks session ids (salted: the signature is good for nothing else)."""

    def __init__(self, secret: str, max_age_seconds: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="oms-dashboard-session")
        self.max_age = max_age_seconds

    def dumps(self, session_id: str) -> str:
        return self._serializer.dumps(session_id)

    def loads(self, cookie: str) -> str | None:
        try:
            value = self._serializer.loads(cookie, max_age=self.max_age)
        except BadSignature:  # includes SignatureExpired
            return None
        return value if isinstance(value, str) else None


def signer(request: Request) -> CookieSigner:
    found: CookieSigner = request.app.state.cookie_signer
    return found


def is_https(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded.split(",")[0].strip() == "https"


def set_session_cookie(request: Request, response: Response, session_id: str) -> None:
    s = signer(request)
    response.set_cookie(
        COOKIE,
        s.dumps(session_id),
        max_age=s.max_age,
        httponly=True,
        samesite="strict",
        secure=is_https(request),
        path="/",
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        COOKIE, httponly=True, samesite="strict", secure=is_https(request), path="/"
    )


def session_id_of(request: Request) -> str | None:
    cookie = request.cookies.get(COOKIE)
    return signer(request).loads(cookie) if cookie else None


def csrf_ok(expected: str, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(expected, presented or "")
