"""``/analytics`` in Debian's chromium: two orders are picked (one with a wrong item) and
packed (one refused for its weight first) over HTTP; the page then draws every chart with
that data (its series' colour is on each canvas) and its tables show the API's numbers.
"""

from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.tables import ShipmentRow
from tests.api.helpers import eventually
from tests.conftest import Catalog, Stack
from tests.e2e.conftest import CHROMIUM
from tests.e2e.test_dashboard import create_order, key, shot

if not os.access(CHROMIUM, os.X_OK):
    pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium", allow_module_level=True)
playwright = pytest.importorskip("playwright.async_api", reason="pip install -e '.[dev]'")
expect = playwright.expect

pytestmark = pytest.mark.slow

Sessions = async_sessionmaker[AsyncSession]

BLUE, GREEN, RED = (37, 99, 235), (22, 163, 74), (220, 38, 38)
#: Each chart and the colours its series with data are drawn in (analytics.js COLORS):
#: received/shipped; the warehouse; refused; p99 (breaches: the zero line).
CHARTS = {
    "throughput": (BLUE, GREEN),
    "fulfillment": (BLUE,),
    "errors": (RED,),
    "delays": (RED,),
    "breaches": (RED,),
}


@pytest.fixture
def sessions(e2e_stack: Stack) -> Sessions:
    return e2e_stack.sessions


async def ship_one(
    http: httpx.AsyncClient,
    sessions: Sessions,
    cat: Catalog,
    order_id: str,
    staff_key: str,
    *,
    mistakes: bool,
) -> None:
    shipment_id = f"{order_id}-1"

    async def opened() -> ShipmentRow | None:
        async with sessions() as s:
            return await s.get(ShipmentRow, shipment_id)

    await eventually(opened, attempts=600)
    staff = {"Authorization": f"Bearer {staff_key}"}
    base = f"/api/v1/shipments/{shipment_id}"
    if mistakes:
        r = await http.post(
            f"{base}/scans",
            headers=staff,
            json={"barcode": cat.barcodes[cat.skus[1]], "scan_id": "w"},
        )
        assert r.status_code == 422, r.text
    r = await http.post(
        f"{base}/scans", headers=staff, json={"barcode": cat.barcodes[cat.skus[0]], "scan_id": "1"}
    )
    assert r.status_code == 200, r.text
    weight = cat.weights[cat.skus[0]]
    if mistakes:
        r = await http.post(f"{base}/pack", headers=staff, json={"weight_grams": weight * 4})
        assert r.status_code == 422, r.text
    r = await http.post(f"{base}/pack", headers=staff, json={"weight_grams": weight})
    assert r.status_code in (200, 202), r.text

    async def shipped() -> bool:
        async with sessions() as s:
            row = await s.get(ShipmentRow, shipment_id)
            return row is not None and row.status == "shipped"

    await eventually(shipped, attempts=600)


def near(pixel: tuple[int, int, int], colour: tuple[int, int, int]) -> bool:
    return sum(abs(a - b) for a, b in zip(pixel, colour, strict=True)) < 60


async def test_analytics_page_draws_the_seeded_data_and_tables_match_the_api(
    browser: Any, live_url: str, sessions: Sessions, make_catalog: Callable[..., Awaitable[Catalog]]
) -> None:
    cat = await make_catalog(n_products=2)
    admin, ops = await key(sessions, "admin"), await key(sessions, "ops")
    staff = await key(sessions, "staff", f"{cat.prefix}-PDX")
    async with httpx.AsyncClient(base_url=live_url) as http:
        for mistakes in (True, False):
            order_id = await create_order(live_url, admin, cat, [], paid=True)
            await ship_one(http, sessions, cat, order_id, staff, mistakes=mistakes)

        today = datetime.now(UTC).date()
        window = {
            "since": f"{today - timedelta(days=6)}T00:00:00Z",
            "until": f"{today + timedelta(days=1)}T00:00:00Z",
        }
        bearer = {"Authorization": f"Bearer {ops}"}

        async def step_rows() -> list[dict[str, Any]] | None:
            r = await http.get(
                "/api/v1/analytics/delays", headers=bearer, params={"group_by": "all", **window}
            )
            rows: list[dict[str, Any]] = r.json()["rows"]
            return rows if any(row["step"] == "ship" for row in rows) else None

        delays = await eventually(step_rows, attempts=600)
        errors = (
            await http.get(
                "/api/v1/analytics/errors",
                headers=bearer,
                params={"group_by": "reason,warehouse", "limit": "30", **window},
            )
        ).json()["rows"]
    assert {(r["reason"], r["warehouse"]) for r in errors} >= {
        ("wrong_item", f"{cat.prefix}-PDX"),
        ("weight_mismatch", f"{cat.prefix}-PDX"),
    }

    context = await browser.new_context(viewport={"width": 1366, "height": 900}, base_url=live_url)
    page = await context.new_page()
    try:
        await page.goto("/analytics")
        await expect(page).to_have_url(re.compile(r"/login"))
        await page.get_by_label("API key").fill(ops)
        await page.get_by_role("button", name="Sign in").click()
        await page.goto("/analytics")
        await expect(page.locator("#analytics-state")).to_have_attribute("data-state", "ready")
        await shot(page, "analytics")

        for chart, colours in CHARTS.items():
            pixels: list[list[int]] = await page.evaluate(
                """(id) => {
                    const c = document.querySelector('#' + id + ' .chart canvas');
                    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                    const out = [];
                    for (let i = 0; i < d.length; i += 4) {
                        if (d[i + 3] > 200) out.push([d[i], d[i + 1], d[i + 2]]);
                    }
                    return out;
                }""",
                chart,
            )
            assert pixels, f"{chart}: empty canvas"
            assert any(near((p[0], p[1], p[2]), c) for p in pixels for c in colours), (
                f"{chart}: no series drawn"
            )
            assert await page.locator(f"#{chart} a.csv").get_attribute("href")

        async def cells(chart: str) -> list[list[str]]:
            rows: list[list[str]] = await page.eval_on_selector_all(
                f"#{chart} table.data tbody tr",
                "trs => trs.map(tr => [...tr.querySelectorAll('td')].map(td => td.textContent))",
            )
            return rows

        assert await cells("errors") == [
            [r["reason"], r["warehouse"], str(r["refused"]), _num(r["share"])] for r in errors
        ]
        assert await cells("delays") == [
            [r["step"], str(r["count"]), _num(r["p50_s"]), _num(r["p90_s"]), _num(r["p99_s"])]
            for r in delays
        ]
        assert await cells("breaches") == [
            [r["step"], str(r["count"]), str(r["sla_breaches"])] for r in delays
        ]
        fulfilled = await cells("fulfillment")
        mine = [row for row in fulfilled if row[0] == f"{cat.prefix}-PDX"]
        assert mine == [[f"{cat.prefix}-PDX", str(today), "2", "1", "0.5"]]
        received = sum(int(row[1]) for row in await cells("throughput"))
        assert received >= 2
        csv_href = await page.locator("#errors a.csv").get_attribute("href")
        r = await context.request.get(csv_href)
        assert r.ok and r.headers["content-type"].startswith("text/csv")
        assert f"wrong_item,{cat.prefix}-PDX,1" in (await r.text())
    finally:
        await context.close()


def _num(v: float) -> str:
    """A number as JavaScript's ``String()`` writes it."""
    return str(int(v)) if float(v).is_integer() else repr(float(v))
