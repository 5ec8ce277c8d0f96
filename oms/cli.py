"""The ``oms`` command line.

``oms dev`` runs the whole stack embedded; ``api``, ``worker`` and ``migrate`` are the
production entry points against ``OMS_DATABASE_URL`` / ``TEMPORAL_ADDRESS``; ``keys`` and
``seed`` are admin chores that work against either.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence

from oms.settings import Settings


def _settings() -> Settings:
    return Settings()


def cmd_dev(args: argparse.Namespace) -> int:
    from oms.devstack import DevStack

    print("Starting the Shipshape OMS dev stack ...", flush=True)
    return DevStack(_settings(), out=lambda line: print(line, flush=True)).run()


def cmd_api(args: argparse.Namespace) -> int:
    import uvicorn

    settings = _settings()
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=args.host or settings.api_host,
        port=args.port or settings.api_port,
        log_level=args.log_level,
        proxy_headers=True,
        # SIGTERM: stop accepting, let in-flight requests finish (docs/decisions/0012).
        timeout_graceful_shutdown=int(settings.api_graceful_seconds),
    )
    return 0


def _run_until_signalled(work: Callable[[], Awaitable[object]]) -> None:
    """Run ``work()`` until it ends or SIGTERM / Ctrl-C cancels it. SIGTERM (Kubernetes,
    `oms dev` shutting down) cancels rather than kills, which lets in-flight tasks finish
    instead of dying mid-activity."""

    async def main() -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await work()

    asyncio.run(main())


def cmd_worker(args: argparse.Namespace) -> int:
    from workers.main import run_worker

    settings = _settings()
    _run_until_signalled(lambda: run_worker(settings))
    return 0


def cmd_road(args: argparse.Namespace) -> int:
    """The sandbox carrier's road (``oms dev`` runs it): tracking events for bought labels."""
    from integrations.road import run_road

    settings = _settings()
    if not settings.database_url:
        raise SystemExit("OMS_DATABASE_URL is not set (oms dev sets it for its road)")
    if settings.sandbox_road is None:
        print("OMS_SANDBOX_ROAD is off: no road", flush=True)
        return 0
    factor = settings.sandbox_road
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the road logs each post itself

    _run_until_signalled(
        lambda: run_road(
            settings.database_url or "",
            settings.api_base_url,
            settings.carrier_webhook_secret,
            factor,
        )
    )
    return 0


def cmd_mail_sink(args: argparse.Namespace) -> int:
    from oms.mailsink import run_sink

    settings = _settings()
    if not settings.database_url:
        print("error: OMS_DATABASE_URL is not set (oms dev sets it)", file=sys.stderr)
        return 2

    url = settings.database_url
    _run_until_signalled(lambda: run_sink(url, args.host, args.port or settings.dev_smtp_port))
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from oms.devstack import embedded_database
    from store.migrate import upgrade

    settings = _settings()
    if not settings.database_url and not args.embedded:
        print(
            "error: OMS_DATABASE_URL is not set (use --embedded for the Postgres of "
            "OMS_DATA_DIR; `oms dev` migrates it on start)",
            file=sys.stderr,
        )
        return 2
    with embedded_database(settings) as url:
        upgrade(url, args.revision)
    print(f"migrated to {args.revision}")
    return 0


def cmd_keys_create(args: argparse.Namespace) -> int:
    from oms.devstack import embedded_database
    from store.db import create_engine, sessionmaker
    from store.keys import create_key

    async def create(url: str) -> tuple[str, str]:
        engine = create_engine(url, pool_size=1)
        try:
            async with sessionmaker(engine)() as session, session.begin():
                return await create_key(
                    session, args.role, warehouse=args.warehouse, name=args.name
                )
        finally:
            await engine.dispose()

    with embedded_database(_settings()) as url:
        try:
            key, key_id = asyncio.run(create(url))
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    print(key)
    scope = f" for {args.warehouse}" if args.warehouse else ""
    print(f"key_id {key_id}, role {args.role}{scope} (shown once; store it now)", file=sys.stderr)
    return 0


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    """Revoke a key by its id (or by the whole key, whose id is its prefix). Running APIs
    refuse it within ``OMS_KEY_CACHE_SECONDS`` (their cache of verified keys)."""
    from oms.devstack import embedded_database
    from store.db import create_engine, sessionmaker
    from store.keys import parse_key, revoke_key

    key_id = parse_key(args.key) or args.key

    async def revoke(url: str) -> bool:
        engine = create_engine(url, pool_size=1)
        try:
            async with sessionmaker(engine)() as session, session.begin():
                return await revoke_key(session, key_id)
        finally:
            await engine.dispose()

    with embedded_database(_settings()) as url:
        found = asyncio.run(revoke(url))
    if not found:
        print(f"error: no key {key_id}", file=sys.stderr)
        return 1
    print(f"key_id {key_id} revoked", file=sys.stderr)
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from oms.devstack import embedded_database
    from oms.seed import seed
    from store.migrate import upgrade

    settings = _settings()
    with embedded_database(settings) as url:
        if not settings.database_url:
            upgrade(url)  # the embedded database may be brand new
        result = asyncio.run(seed(url, settings.api_base_url))
    print(f"demo catalog: {result}")
    return 0


def cmd_shop_order(args: argparse.Namespace) -> int:
    import httpx

    from oms.shop_order import ShopOrderError, parse_lines, sell, store_path

    settings = _settings()
    try:
        lines = parse_lines(args.lines)
    except ValueError as exc:
        print(f"oms shop-order: {exc}", file=sys.stderr)
        return 2
    base = args.api or settings.api_base_url

    async def run() -> tuple[str, dict[str, object]]:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            return await sell(http, lines, webhook_secret=settings.shopify_webhook_secret)

    try:
        order_id, order = asyncio.run(run())
    except (ShopOrderError, httpx.HTTPError) as exc:
        print(f"oms shop-order: {exc}", file=sys.stderr)
        return 1
    print(f"sold in the sandbox store as {order['name']} (Shopify order {order['id']})")
    print(f"taken in as {order_id}: {base}/orders/{order_id}")
    print(
        f"what the store knows: curl -H 'X-Shopify-Access-Token: <the channel's token>' "
        f"{base}{store_path()}/orders/{order['id']}.json"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="oms",
        description="Shipshape OMS: order management on Temporal + Postgres.",
        epilog="Configuration comes from environment variables (see README.md).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "dev",
        help="run everything locally: embedded Postgres, Temporal dev server, worker, API",
    )
    p.set_defaults(func=cmd_dev)

    p = sub.add_parser("api", help="serve the HTTP API (uvicorn) against external services")
    p.add_argument("--host", help="bind address (default OMS_API_HOST)")
    p.add_argument("--port", type=int, help="port (default OMS_API_PORT)")
    p.add_argument("--log-level", default="info", help="uvicorn log level (default info)")
    p.set_defaults(func=cmd_api)

    p = sub.add_parser("worker", help="run the Temporal worker against external services")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser(
        "road",
        help="post the sandbox carrier's tracking events for bought labels (oms dev runs it)",
    )
    p.set_defaults(func=cmd_road)

    p = sub.add_parser(
        "mail-sink",
        help="a local SMTP server that keeps what it receives for /dev/mailbox (oms dev runs it)",
    )
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default OMS_DEV_SMTP_PORT)")
    p.set_defaults(func=cmd_mail_sink)

    p = sub.add_parser("migrate", help="apply database migrations to OMS_DATABASE_URL")
    p.add_argument("--revision", default="head", help="target revision (default head)")
    p.add_argument(
        "--embedded",
        action="store_true",
        help="migrate the embedded Postgres of OMS_DATA_DIR when OMS_DATABASE_URL is unset",
    )
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("keys", help="manage API keys")
    keys = p.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    k = keys.add_parser(
        "create",
        help="create a key and print it (OMS_DATABASE_URL, else the embedded Postgres)",
    )
    k.add_argument("--role", required=True, choices=["admin", "ops", "staff", "integration"])
    k.add_argument("--warehouse", help="warehouse code (required for staff keys)")
    k.add_argument("--name", help="who or what the key is for")
    k.set_defaults(func=cmd_keys_create)
    k = keys.add_parser(
        "revoke",
        help="revoke a key at once (OMS_DATABASE_URL, else the embedded Postgres)",
    )
    k.add_argument("key", metavar="KEY_ID", help="the key's id (or the whole key)")
    k.set_defaults(func=cmd_keys_revoke)

    p = sub.add_parser(
        "seed", help="load the demo catalog (idempotent; OMS_DATABASE_URL, else embedded)"
    )
    p.set_defaults(func=cmd_seed)

    p = sub.add_parser(
        "shop-order",
        help="sell an order in the sandbox Shopify store of `oms dev`; it is written back there",
    )
    p.add_argument("lines", nargs="+", metavar="SKU[:QTY]", help="e.g. TEA-SEN-100:2")
    p.add_argument("--api", help="the API's base URL (default http://OMS_API_HOST:OMS_API_PORT)")
    p.set_defaults(func=cmd_shop_order)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
