"""``OMS_SMTP_URL`` and one send over SMTP (aiosmtplib), with the verdict the outbox needs:
sent, try again later, or refused for good."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

#: One attempt's budget: connecting, the dialogue and the server's answer to DATA.
SEND_TIMEOUT = 30.0

_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to hand mail over: ``smtp://[user:password@]host[:port][?starttls=1]``
    (plain, or STARTTLS required with ``starttls=1``), ``smtps://…`` (TLS from the start)."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    use_tls: bool = False

    @classmethod
    def parse(cls, url: str) -> SmtpTarget:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError(f"OMS_SMTP_URL must be smtp:// or smtps://, not {parts.scheme!r}")
        if not parts.hostname:
            raise ValueError("OMS_SMTP_URL has no host")
        query = parse_qs(parts.query)
        use_tls = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if use_tls else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            starttls=query.get("starttls", ["0"])[-1].lower() in _TRUE,
            use_tls=use_tls,
        )

    def __str__(self) -> str:  # for logs: never the password
        return f"{'smtps' if self.use_tls else 'smtp'}://{self.host}:{self.port}"


class SendFailed(Exception):
    """The message was not accepted. ``permanent``: the server refused it for good (5xx),
    trying again would not help; otherwise try again later."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


async def send(target: SmtpTarget, message: EmailMessage, seconds: float = SEND_TIMEOUT) -> None:
    """Hand ``message`` to the server; raises :class:`SendFailed` unless it was accepted."""
    try:
        await aiosmtplib.send(
            message,
            hostname=target.host,
            port=target.port,
            username=target.username,
            password=target.password,
            start_tls=target.starttls,
            use_tls=target.use_tls,
            timeout=seconds,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [r.code for r in exc.recipients]
        # Codes and words only: the address is the customer's, and this ends up in logs.
        detail = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        raise SendFailed(
            f"recipients refused: {detail}", permanent=all(500 <= c < 600 for c in codes)
        ) from exc
    except aiosmtplib.SMTPAuthenticationError as exc:
        # Our credentials, not the message: fixing the configuration lets it through.
        raise SendFailed(
            f"authentication failed: {exc.code} {exc.message}", permanent=False
        ) from exc
    except aiosmtplib.SMTPResponseException as exc:
        # A 5xx to DATA refuses this message; anything else (our sender address, HELO, a
        # 4xx) is the server's state or our configuration: try again later.
        permanent = 500 <= exc.code < 600 and isinstance(exc, aiosmtplib.SMTPDataError)
        raise SendFailed(f"{exc.code} {exc.message}", permanent=permanent) from exc
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        # Refused connection, dropped connection, time-out: nothing says it was accepted.
        raise SendFailed(f"{type(exc).__name__}: {exc}", permanent=False) from exc
