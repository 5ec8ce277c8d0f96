"""The API in a process of its own for the seeded benches (``bench.dashboard``,
``bench.analytics``), an admin key for it, and timing requests to it over real HTTP."""

from __future__ import annotations

import multiprocessing
import socket
import statistics
import time
from pathlib import Path
from typing import Any

import httpx


def _serve(url: str, port: int) -> None:
    """Child process: the real app, with a Temporal client it never needs for reads."""
    import uvicorn

    from api.app import create_app
    from oms.settings import Settings
    from store.db import create_engine

    settings = Settings(OMS_DATABASE_URL=url, OMS_KEY_CACHE_SECONDS=60)
    engine = create_engine(url, pool_size=10)
    app = create_app(settings, client=object(), engine=engine)  # type: ignore[arg-type]
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(ms: list[float]) -> dict[str, float]:
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 2),
        "p95_ms": round(pct(ms, 95), 2),
        "p99_ms": round(pct(ms, 99), 2),
    }


async def timed_get(http: httpx.AsyncClient, path: str, params: dict[str, Any]) -> float:
    t = time.perf_counter()
    r = await http.get(path, params=params)
    r.raise_for_status()
    return (time.perf_counter() - t) * 1000


async def admin_key(url: str) -> str:
    from sqlalchemy.ext.asyncio import AsyncSession

    from store.db import create_engine
    from store.keys import create_key

    engine = create_engine(url, pool_size=1)
    try:
        async with AsyncSession(engine) as s, s.begin():
            key, _ = await create_key(s, "admin", None, name="bench")
    finally:
        await engine.dispose()
    return key


def start_api(url: str) -> tuple[Any, str]:
    port = free_port()
    server = multiprocessing.get_context("spawn").Process(
        target=_serve, args=(url, port), daemon=True
    )
    server.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(f"{base}/healthz", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    return server, base
