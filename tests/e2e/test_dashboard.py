"""The ops dashboard in a real browser (Debian's chromium, desktop size): sign in through
the form, filter, save a view, watch an order created through the API appear live with its
count, release a hold and see the event, a bulk release with one refusal, a staff key's
narrower world, the redirect to /login, and a forged POST refused. Each page is saved as a
screenshot under ``test-artifacts/``.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.keys import create_key
from tests.api.dashboard_helpers import insert_orders, order_row
from tests.api.helpers import eventually
from tests.conftest import Catalog, Stack
from tests.e2e.conftest import ARTIFACTS, CHROMIUM

if not os.access(CHROMIUM, os.X_OK):
    pytest.skip(
        f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)", allow_module_level=True
    )
playwright = pytest.importorskip("playwright.async_api", reason="pip install -e '.[dev]'")
expect = playwright.expect

pytestmark = pytest.mark.slow

Sessions = async_sessionmaker[AsyncSession]
MakeCatalog = Callable[..., Awaitable[Catalog]]


@pytest.fixture
def sessions(e2e_stack: Stack) -> Sessions:
    """The pages run on the e2e stack's own database: keys, catalogs and orders go there."""
    return e2e_stack.sessions


@pytest.fixture
async def desk(browser: Any, live_url: str) -> AsyncIterator[Any]:
    """A desktop-sized page on the live server (dialogs accepted: confirmations pass)."""
    context = await browser.new_context(viewport={"width": 1366, "height": 900}, base_url=live_url)
    pg = await context.new_page()
    pg.on("dialog", lambda d: d.accept())
    yield pg
    await context.close()


async def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)


async def key(sessions: Sessions, role: str, warehouse: str | None = None) -> str:
    async with sessions.begin() as s:
        k, _ = await create_key(s, role, warehouse, name=f"e2e {role}")
    return k


async def sign_in(page: Any, api_key: str, path: str = "/") -> None:
    await page.goto(path)
    await expect(page).to_have_url(re.compile(r"/login"))
    await page.get_by_label("API key").fill(api_key)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#live-state")).to_have_attribute("data-state", "live")


async def create_order(
    live_url: str, admin_key: str, cat: Catalog, tags: list[str], *, paid: bool = False
) -> str:
    body = {
        "external_id": uuid.uuid4().hex[:12],
        "channel": "web",
        "email": "e2e@example.com",
        "shipping_address": {
            "name": "Mara Lindqvist",
            "address1": "418 Alder Street",
            "city": "Portland",
            "province_code": "OR",
            "zip": "97205",
            "country_code": "US",
        },
        "lines": [{"sku": cat.skus[0], "quantity": 1, "unit_price": "9.50"}],
        "financial_status": "paid" if paid else "pending",
        "tags": tags,
    }
    async with httpx.AsyncClient(base_url=live_url) as http:
        r = await http.post(
            "/api/v1/orders",
            json=body,
            headers={"Authorization": f"Bearer {admin_key}", "Idempotency-Key": uuid.uuid4().hex},
        )
        assert r.status_code == 202, r.text
        return str(r.json()["order_id"])


async def api(live_url: str, admin_key: str, method: str, path: str, **kw: Any) -> Any:
    async with httpx.AsyncClient(base_url=live_url) as http:
        r = await http.request(method, path, headers={"Authorization": f"Bearer {admin_key}"}, **kw)
        return r


async def wait_status(live_url: str, admin_key: str, order_id: str, status: str) -> None:
    async def probe() -> bool:
        r = await api(live_url, admin_key, "GET", f"/api/v1/orders/{order_id}")
        return r.status_code == 200 and r.json()["status"] == status

    await eventually(probe)


async def test_sign_in_filter_save_a_view_and_see_an_order_arrive_live(
    desk: Any, live_url: str, sessions: Sessions, make_catalog: MakeCatalog
) -> None:
    cat = await make_catalog()
    admin = await key(sessions, "admin")
    t = f"e2e{uuid.uuid4().hex[:6]}"
    first = await create_order(live_url, admin, cat, [t])
    await wait_status(live_url, admin, first, "awaiting_payment")

    await sign_in(desk, admin)
    await shot(desk, "orders")
    # Filter by tag and status through the form.
    await desk.get_by_label("Tag", exact=True).fill(t)
    await desk.get_by_label("Status filter").select_option("awaiting_payment")
    await desk.get_by_role("button", name="Filter").click()
    rows = desk.locator("#order-rows tr[data-order-id]")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_have_attribute("data-order-id", first)
    await desk.get_by_label("Status filter").select_option("cancelled")
    await desk.get_by_role("button", name="Filter").click()
    await expect(rows).to_have_count(0)

    # Save "tag = t" as a view; it shows as a tab and applies its filters.
    await desk.goto(f"/?tag={t}")
    await desk.locator("details.save-view summary").click()
    await desk.get_by_label("View name").fill(f"view {t}")
    await desk.get_by_role("button", name="Save view").click()
    tab = desk.locator(f'.views a[data-view="view {t}"]')
    await expect(tab).to_have_class(re.compile(r"\bactive\b"))
    await expect(rows).to_have_count(1)
    await expect(desk.locator("#live-state")).to_have_attribute("data-state", "live")
    await shot(desk, "saved-view")

    # An order created through the API appears without reload; its status tab count moves.
    count = desk.locator('[data-count="awaiting_payment"]')
    before = await count.inner_text()
    await desk.evaluate("window.__marker = 'no reload'")
    second = await create_order(live_url, admin, cat, [t])
    await expect(desk.locator(f'#order-rows tr[data-order-id="{second}"]')).to_be_visible(
        timeout=15_000
    )
    await expect(count).not_to_have_text(before, timeout=15_000)
    assert await desk.evaluate("window.__marker") == "no reload"

    # Keyboard: j moves to the first row, Enter opens it.
    await desk.keyboard.press("j")
    await desk.keyboard.press("Enter")
    await expect(desk).to_have_url(re.compile(rf"/orders/{second}"))
    await shot(desk, "order")
    # Next/previous within the view.
    await desk.locator("#next-order").click()
    await expect(desk).to_have_url(re.compile(rf"/orders/{first}"))


async def test_release_a_hold_and_see_the_event_then_bulk_with_a_refusal(
    desk: Any, live_url: str, sessions: Sessions, make_catalog: MakeCatalog
) -> None:
    cat = await make_catalog()
    admin = await key(sessions, "admin")
    t = f"e2e{uuid.uuid4().hex[:6]}"
    held, other, bulk_held = [await create_order(live_url, admin, cat, [t]) for _ in range(3)]
    for oid in (held, other, bulk_held):
        await wait_status(live_url, admin, oid, "awaiting_payment")
    for oid in (held, bulk_held):
        r = await api(
            live_url,
            admin,
            "POST",
            f"/api/v1/orders/{oid}/holds",
            json={"reason": "INCORRECT_ADDRESS", "note": "check the street"},
        )
        assert r.status_code == 201, r.text

    await sign_in(desk, admin, f"/orders/{held}")
    await expect(desk.locator(".hold")).to_have_count(1)
    await desk.get_by_role("button", name="Release hold").click()
    await expect(desk.locator(".flash")).to_contain_text("Release hold: done")
    await expect(desk.locator(".hold")).to_have_count(0)
    action = desk.locator('#timeline li[data-type="ops_action"]').first
    await expect(action).to_contain_text("release hold by")
    await expect(action).to_contain_text("e2e admin")
    await shot(desk, "order-released")

    # Bulk: release holds on two orders, one of which has none.
    await desk.goto(f"/?tag={t}")
    for oid in (other, bulk_held):
        await desk.locator(f'#order-rows tr[data-order-id="{oid}"] input[type=checkbox]').check()
    await desk.get_by_label("Bulk action").select_option("release_holds")
    await desk.get_by_role("button", name="Apply to selected").click()
    results = desk.locator("#bulk-results")
    await expect(results.locator(f'tr[data-order-id="{bulk_held}"]')).to_contain_text("done")
    refused = results.locator(f'tr[data-order-id="{other}"]')
    await expect(refused).to_contain_text("refused")
    await expect(refused).to_contain_text("no_hold")
    await shot(desk, "bulk-result")


async def test_staff_see_their_warehouse_only_and_no_ops_actions(
    desk: Any, live_url: str, sessions: Sessions, make_catalog: MakeCatalog
) -> None:
    cat = await make_catalog()
    admin = await key(sessions, "admin")
    t = f"e2e{uuid.uuid4().hex[:6]}"
    mine = await create_order(live_url, admin, cat, [t], paid=True)
    await wait_status(live_url, admin, mine, "ready_to_pick")
    warehouse = f"{cat.prefix}-PDX"
    staff = await key(sessions, "staff", warehouse)

    await sign_in(desk, staff, f"/?tag={t}")
    await expect(desk.locator("#order-rows tr[data-order-id]")).to_have_count(1)
    await expect(desk.get_by_role("link", name="Stuck")).to_have_count(0)
    await expect(desk.get_by_label("Bulk action").locator("option")).to_have_text(
        ["Add tag", "Remove tag"]
    )
    await desk.goto("/floor")
    await expect(desk.locator(".site")).to_have_count(1)
    await expect(desk.locator(".site")).to_have_attribute("data-warehouse", warehouse)
    await expect(desk.locator(f'tr[data-shipment-id="{mine}-1"]')).to_be_visible()
    await shot(desk, "floor-staff")
    await desk.goto(f"/orders/{mine}")
    await expect(desk.get_by_role("button", name="Cancel order")).to_have_count(0)
    await expect(desk.get_by_role("button", name="Move shipment")).to_have_count(0)
    # A scan from a handheld shows on the open order page without reload (pick progress).
    await expect(desk.locator("#live-state")).to_have_attribute("data-state", "live")
    picked = desk.locator(f'[data-shipment-id="{mine}-1"] [data-field="picked"]')
    await expect(picked).to_have_text("0")
    async with httpx.AsyncClient(base_url=live_url) as http:
        r = await http.post(
            f"/api/v1/shipments/{mine}-1/scans",
            headers={"Authorization": f"Bearer {staff}"},
            json={"barcode": cat.barcodes[cat.skus[0]], "scan_id": uuid.uuid4().hex},
        )
        assert r.status_code == 200, r.text
    await expect(picked).to_have_text("1", timeout=15_000)
    await shot(desk, "order-staff-picked")
    response = await desk.goto("/ops")
    assert response is not None and response.status == 403


async def test_no_session_goes_to_login_and_a_forged_post_is_refused(
    desk: Any, live_url: str, sessions: Sessions
) -> None:
    await desk.goto("/ops")
    await expect(desk).to_have_url(re.compile(r"/login\?next=/ops"))
    await shot(desk, "login")
    admin = await key(sessions, "admin")
    # A stuck order in the read model (no workflow behind it), so the page has a row to show.
    stuck = order_row(f"e2e{uuid.uuid4().hex[:6]}", status="ready_to_pick", stuck=True)
    await insert_orders(sessions, [stuck])
    await desk.get_by_label("API key").fill(admin)
    await desk.get_by_role("button", name="Sign in").click()
    await expect(desk).to_have_url(re.compile(r"/ops$"))
    await expect(desk.locator(f'#stuck tr[data-order-id="{stuck.order_id}"]')).to_contain_text(
        "SLA passed"
    )
    await expect(desk.locator("#live-state")).to_have_attribute("data-state", "live")
    await shot(desk, "ops")
    await desk.goto("/floor")
    await shot(desk, "floor")
    # A POST carrying the session cookie but no CSRF token (what another page would forge).
    status = await desk.evaluate(
        """async () => {
            const body = new URLSearchParams({action: "cancel", order_ids: "x", reason: "f"});
            const r = await fetch("/bulk", {method: "POST", body});
            const j = await fetch("/api/v1/orders/bulk", {method: "POST",
                headers: {"Content-Type": "application/json"},
                body: JSON.stringify({action: "cancel", order_ids: ["x"]})});
            return [r.status, j.status];
        }"""
    )
    assert status == [403, 403]


async def test_the_stream_over_http_resumes_from_last_event_id(
    live_url: str, sessions: Sessions
) -> None:
    """The real endpoint: events as text/event-stream, and a reconnect with the header
    ``Last-Event-ID`` replaying an order written while the client was away."""
    admin = await key(sessions, "admin")
    auth = {"Authorization": f"Bearer {admin}"}

    async def frames(headers: dict[str, str], until: str) -> list[tuple[str, str, str]]:
        seen: list[tuple[str, str, str]] = []
        async with (
            httpx.AsyncClient(base_url=live_url, timeout=20) as http,
            http.stream("GET", "/api/v1/stream", headers={**auth, **headers}) as r,
        ):
            assert r.headers["content-type"].startswith("text/event-stream")
            event, ident = "", ""
            async for line in r.aiter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("id:"):
                    ident = line[3:].strip()
                elif line.startswith("data:"):
                    seen.append((event, ident, line[5:].strip()))
                    if event == until:
                        return seen
        return seen

    (ready,) = await frames({}, "ready")
    last_id = ready[1]
    away = order_row(f"e2e{uuid.uuid4().hex[:6]}")
    await insert_orders(sessions, [away])  # written while no stream is open
    replayed = await frames({"Last-Event-ID": last_id}, "ready")
    mine = [i for event, i, data in replayed if event == "order" and away.order_id in data]
    assert len(mine) == 1 and int(mine[0]) > int(last_id)
    assert replayed[-1][0] == "ready" and int(replayed[-1][1]) >= int(mine[0])
