"""Sales-channel adapters: tell a channel how many units of a SKU it may sell.

Every call carries an idempotency key made from the outbox, so a call repeated after a lost
response is applied once. Adapters raise :class:`TransientRemoteError` for what a retry may
fix (timeouts, 429, 5xx) and :class:`ChannelRejected` for what it never will (4xx).

* :class:`SandboxChannel` — a local stand-in that behaves like a remote service (latency,
  injected transient failures, remembered keys) and records each distinct request in
  ``sandbox_channel_receipts``, so tests and people can see what the channel "received".
* :class:`ShopifyChannel` — Shopify's REST ``inventory_levels/set.json`` over httpx. The API
  serves a sandbox of that endpoint (``/sandbox/shopify/{shop}/admin/api/...``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

import httpx
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from integrations.sandbox import SandboxBehaviour, TransientRemoteError
from store.tables import SandboxChannelReceipt

DEFAULT_SHOPIFY_API_VERSION = "2024-07"
SHOPIFY_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class ChannelRejected(Exception):
    """The channel refused the update (4xx): repeating the same request cannot succeed.

    ``channel_wide`` marks refusals of the channel as a whole (401/403: credentials or
    scopes; no status: refused before any call, a misconfigured channel), which no other
    SKU would get past either.
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def channel_wide(self) -> bool:
        return self.status is None or self.status in (401, 403)


class ChannelUnavailable(TransientRemoteError):
    """Timeout, 429 or 5xx; ``retry_after`` is the channel's own hint when it gave one."""

    def __init__(self, message: str, *, retry_after: timedelta | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class ChannelReceipt:
    """What the channel answered: the quantity it now shows and whether it was a replay."""

    sku: str
    available: int
    replayed: bool = False


class SalesChannel(Protocol):
    code: str

    def sells(self, sku: str) -> bool:
        """Whether this channel lists the SKU at all (unlisted SKUs are not pushed)."""
        ...

    async def set_available(
        self, *, sku: str, available: int, idempotency_key: str
    ) -> ChannelReceipt: ...


# --- config -------------------------------------------------------------------------------


def check_config(kind: str, config: dict[str, Any]) -> None:
    """Refuse a channel config its adapter could not work with.

    Raises:
        ValueError: what is missing or malformed, for a person.
    """
    skus = config.get("skus")
    if skus is not None and not (isinstance(skus, list) and all(isinstance(s, str) for s in skus)):
        raise ValueError("config.skus must be a list of SKUs")
    if kind == "sandbox":
        fail_first = config.get("fail_first", 0)
        if not isinstance(fail_first, int) or isinstance(fail_first, bool) or fail_first < 0:
            raise ValueError("config.fail_first must be a non-negative integer")
        if not isinstance(config.get("down", False), bool):
            raise ValueError("config.down must be true or false")
        return
    if kind != "shopify":
        raise ValueError(f"unknown channel kind {kind!r}")
    base_url = config.get("base_url")
    if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
        raise ValueError("config.base_url must be the shop's http(s) URL")
    if not _is_int(config.get("location_id")):
        raise ValueError("config.location_id must be the Shopify location id (integer)")
    if not (config.get("access_token") or config.get("access_token_env")):
        raise ValueError("config needs access_token or access_token_env")
    shop_domain = config.get("shop_domain")
    if shop_domain is not None and not (
        isinstance(shop_domain, str) and shop_domain == shop_domain.strip().lower() and shop_domain
    ):
        raise ValueError("config.shop_domain must be the shop's domain, lower case")
    for flag in ("writeback", "notify_customer"):
        if not isinstance(config.get(flag, False), bool):
            raise ValueError(f"config.{flag} must be true or false")
    items = config.get("inventory_item_ids", {})
    if not isinstance(items, dict) or not all(_is_int(v) for v in items.values()):
        raise ValueError("config.inventory_item_ids must map SKU -> inventory item id (integer)")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


#: Config members never shown back by the API.
SECRET_KEYS = ("access_token",)


REDACTED = "***"


def redact(config: dict[str, Any]) -> dict[str, Any]:
    return {k: (REDACTED if k in SECRET_KEYS and v else v) for k, v in config.items()}


def keep_secrets(new: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """``new`` with every secret sent back as shown (redacted) replaced by the stored one,
    so a config read, edited and sent back does not overwrite a token with ``***``."""
    return {
        k: (old[k] if k in SECRET_KEYS and v == REDACTED and k in old else v)
        for k, v in new.items()
    }


def _listed(config: dict[str, Any], sku: str) -> bool:
    skus = config.get("skus")
    return skus is None or sku in skus


# --- sandbox ------------------------------------------------------------------------------


@dataclass
class FailFirst:
    """Fail the first ``n`` calls, alternately before and after the remote side acted.

    A failure *after* acting is a lost response: exactly what idempotency keys exist for.
    The count lives in the worker process, so a restart fails ``n`` calls again.
    """

    n: int
    calls: int = 0

    def next(self) -> str | None:
        self.calls += 1
        if self.calls > self.n:
            return None
        return "before" if self.calls % 2 else "after"


@dataclass
class SandboxChannel:
    """A channel simulated on ``sandbox_channel_receipts``: one row per distinct key.

    Config: ``skus`` (optional list: what the channel sells, default everything),
    ``fail_first`` (the first N calls of this worker process fail transiently), ``down``
    (true: every call fails transiently before processing, as an outage would).
    """

    code: str
    sessions: async_sessionmaker[AsyncSession]
    behaviour: SandboxBehaviour
    config: dict[str, Any] = field(default_factory=dict)
    fail_first: FailFirst | None = None

    def sells(self, sku: str) -> bool:
        return _listed(self.config, sku)

    async def set_available(
        self, *, sku: str, available: int, idempotency_key: str
    ) -> ChannelReceipt:
        await self.behaviour.delay()
        if self.config.get("down"):
            raise ChannelUnavailable(f"{self.code}: unreachable (sandbox channel is down)")
        injected = self.fail_first.next() if self.fail_first else None
        if injected == "before" or self.behaviour.fails():
            raise ChannelUnavailable(f"{self.code}: upstream timeout (before processing)")
        receipt = await record_receipt(
            self.sessions,
            channel=self.code,
            idempotency_key=idempotency_key,
            sku=sku,
            available=available,
            payload={"sku": sku, "available": available},
        )
        if injected == "after" or self.behaviour.fails():
            raise ChannelUnavailable(f"{self.code}: response lost (after processing)")
        return receipt


async def record_receipt(
    sessions: async_sessionmaker[AsyncSession],
    *,
    channel: str,
    idempotency_key: str,
    sku: str,
    available: int,
    payload: dict[str, Any],
) -> ChannelReceipt:
    """Remember a request once per key; a repeated key gets the first request's answer."""
    async with sessions.begin() as session:
        inserted = await session.scalar(
            insert(SandboxChannelReceipt)
            .values(
                idempotency_key=idempotency_key,
                channel=channel,
                sku=sku,
                available=available,
                payload=payload,
            )
            .on_conflict_do_nothing()
            .returning(SandboxChannelReceipt.idempotency_key)
        )
        if inserted is not None:
            return ChannelReceipt(sku, available)
        first = (
            await session.execute(
                select(SandboxChannelReceipt.sku, SandboxChannelReceipt.available).where(
                    SandboxChannelReceipt.idempotency_key == idempotency_key
                )
            )
        ).one()
        return ChannelReceipt(first.sku, first.available, replayed=True)


# --- Shopify ------------------------------------------------------------------------------


@dataclass
class ShopifyChannel:
    """Shopify's ``POST /admin/api/{version}/inventory_levels/set.json``.

    Config: ``base_url`` (the shop, e.g. ``https://acme.myshopify.com``), ``api_version``
    (default ``2024-07``), ``location_id``, ``access_token`` or ``access_token_env`` (the
    name of a worker environment variable holding it), ``inventory_item_ids`` (SKU →
    inventory item id). A SKU without an inventory item id is not listed on the store and
    is not pushed: Shopify addresses stock by inventory item, never by SKU.
    """

    code: str
    config: dict[str, Any]
    http: httpx.AsyncClient

    def sells(self, sku: str) -> bool:
        return self._item_id(sku) is not None and _listed(self.config, sku)

    def _item_id(self, sku: str) -> int | None:
        value = self.config.get("inventory_item_ids", {}).get(sku)
        return int(value) if value is not None else None

    @property
    def url(self) -> str:
        version = self.config.get("api_version") or DEFAULT_SHOPIFY_API_VERSION
        base = str(self.config["base_url"]).rstrip("/")
        return f"{base}/admin/api/{version}/inventory_levels/set.json"

    def _token(self) -> str:
        token = self.config.get("access_token")
        if not token and self.config.get("access_token_env"):
            token = os.environ.get(str(self.config["access_token_env"]), "")
        if not token:
            raise ChannelRejected(f"{self.code}: no access token configured", status=401)
        return str(token)

    async def set_available(
        self, *, sku: str, available: int, idempotency_key: str
    ) -> ChannelReceipt:
        item = self._item_id(sku)
        if item is None:
            raise ChannelRejected(f"{self.code}: no inventory item for {sku}", status=404)
        body = {
            "location_id": int(self.config["location_id"]),
            "inventory_item_id": item,
            "available": available,
        }
        headers = {
            "X-Shopify-Access-Token": self._token(),
            "Idempotency-Key": idempotency_key,
        }
        try:
            response = await self.http.post(
                self.url, json=body, headers=headers, timeout=SHOPIFY_TIMEOUT
            )
        except httpx.TransportError as exc:  # connect/read timeouts, refused, reset
            raise ChannelUnavailable(f"{self.code}: {type(exc).__name__}: {exc}") from exc
        return _shopify_answer(self.code, sku, response)


def _shopify_answer(code: str, sku: str, response: httpx.Response) -> ChannelReceipt:
    status = response.status_code
    if status == 429 or status >= 500:
        raise ChannelUnavailable(
            f"{code}: Shopify answered {status}", retry_after=_retry_after(response)
        )
    if status >= 400:
        raise ChannelRejected(
            f"{code}: Shopify refused {sku}: {status} {response.text[:300]}", status=status
        )
    try:
        level = response.json()["inventory_level"]
        return ChannelReceipt(sku, int(level["available"]))
    except (ValueError, KeyError, TypeError) as exc:
        # A 2xx we cannot read: the update may or may not have landed; retry with the key.
        raise ChannelUnavailable(f"{code}: unreadable Shopify answer ({exc})") from exc


def _retry_after(response: httpx.Response) -> timedelta | None:
    try:
        return timedelta(seconds=float(response.headers["Retry-After"]))
    except (KeyError, ValueError):
        return None


# --- construction -------------------------------------------------------------------------


@dataclass
class ChannelFactory:
    """Builds the adapter for a channel row; holds what adapters share in one worker.

    Sandbox failure counters (``fail_first``) live here, keyed by channel, so they count
    across activity attempts rather than restarting with each one.
    """

    sessions: async_sessionmaker[AsyncSession]
    behaviour: SandboxBehaviour
    http: httpx.AsyncClient
    _fail_first: dict[str, FailFirst] = field(default_factory=dict)

    def adapter(self, code: str, kind: str, config: dict[str, Any]) -> SalesChannel:
        if kind == "shopify":
            return ShopifyChannel(code, config, self.http)
        if kind == "sandbox":
            counter = None
            if config.get("fail_first"):
                counter = self._fail_first.setdefault(code, FailFirst(int(config["fail_first"])))
            return SandboxChannel(code, self.sessions, self.behaviour, config, counter)
        raise ChannelRejected(f"{code}: unknown channel kind {kind!r}")
