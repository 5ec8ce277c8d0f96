"""The scan station page in a real browser (Debian's chromium at 360 px wide).

Sign in with a staff key, open the sample order's shipment from the work list, scan a wrong
item (red, reason shown), the right ones (green, counts drop), pack, see the tracking
number; and a scan whose first attempt is lost on the network lands exactly once.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from integrations.sandbox import SandboxBehaviour
from oms.seed import PRODUCTS
from store.tables import ScanEvent, ShipmentRow
from tests.api.helpers import eventually
from tests.conftest import missing_tool
from tests.e2e.conftest import ARTIFACTS, CHROMIUM, SampleShipment
from tests.integrations.label_reader import barcodes

playwright = pytest.importorskip("playwright.async_api", reason="pip install -e '.[dev]'")
expect = playwright.expect

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def _chromium() -> None:
    """Before the browser fixtures: skip each test without chromium (fail each with CI set)."""
    if not os.access(CHROMIUM, os.X_OK):
        missing_tool(str(CHROMIUM), "chromium")


MUG, TEA = ("MUG-CER-350", "4006381333931", 420), ("TEA-SEN-100", "5901234123457", 610)
WRONG = next(p for p in PRODUCTS if p.sku == "TEA-EARL-100").barcode  # valid, not in the order

Make = Callable[..., Awaitable[SampleShipment]]


async def sign_in_and_open(page: Any, shipment: SampleShipment) -> Any:
    await page.goto("/scan")
    await page.get_by_label("Staff key").fill(shipment.staff_key)
    await page.get_by_role("button", name="Sign in").click()
    await page.locator(f'[data-shipment-id="{shipment.shipment_id}"]').click()
    barcode = page.get_by_label("Scan barcode")
    await expect(barcode).to_be_focused()
    return barcode


async def scan(page: Any, code: str) -> None:
    """What a keyboard-wedge scanner does: type into whatever has focus, then Enter."""
    await page.keyboard.type(code)
    await page.keyboard.press("Enter")


def left(page: Any, sku: str) -> Any:
    return page.locator(f'tr[data-sku="{sku}"] td.remaining')


async def test_scan_pack_ship(
    page: Any, sample_shipment: Make, stack_sessions: async_sessionmaker[AsyncSession]
) -> None:
    shipment = await sample_shipment()
    await sign_in_and_open(page, shipment)
    feedback = page.get_by_role("status")
    await expect(left(page, MUG[0])).to_have_text("2")
    await expect(left(page, TEA[0])).to_have_text("1")

    await scan(page, WRONG)
    await expect(feedback).to_have_class(re.compile(r"\bbad\b"))
    await expect(feedback).to_contain_text("wrong item", ignore_case=True)
    await expect(left(page, MUG[0])).to_have_text("2")

    await scan(page, MUG[1])
    await expect(left(page, MUG[0])).to_have_text("1")
    await expect(feedback).to_have_class(re.compile(r"\bok\b"))
    await expect(feedback).to_contain_text(MUG[0])
    await scan(page, MUG[1])
    await expect(left(page, MUG[0])).to_have_text("0")
    await scan(page, TEA[1])
    await expect(left(page, TEA[0])).to_have_text("0")
    await expect(feedback).to_have_class(re.compile(r"\bok\b"))
    await expect(feedback).to_contain_text("0 left in shipment")

    weight = page.get_by_label("Package weight (grams)")
    await expect(weight).to_be_focused()
    await weight.fill(str(2 * MUG[2] + TEA[2] + 80))
    await page.get_by_role("button", name="Pack", exact=True).click()
    # The mug is fragile: its template wants the packer to confirm protective packaging.
    await expect(feedback).to_contain_text("packaging unchecked", ignore_case=True)
    confirm = page.get_by_role("button", name="Protective packaging used")
    await expect(confirm).to_be_focused()
    await confirm.click()
    await expect(feedback).to_contain_text("packaging ok", ignore_case=True)
    await expect(weight).to_be_focused()
    await page.get_by_role("button", name="Pack", exact=True).click()
    tracking = page.locator("#tracking-number")
    await expect(tracking).to_have_text(re.compile(r"^SBX"))
    await expect(feedback).to_contain_text("packed", ignore_case=True)

    # Nothing is wider than the phone.
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "scan-station.png"), full_page=True)

    number = await tracking.inner_text()
    await labels_print_and_download(page, number)

    async def shipped() -> ShipmentRow | None:
        async with stack_sessions() as s:
            row = await s.get(ShipmentRow, shipment.shipment_id)
        return row if row is not None and row.status == "shipped" else None

    row = await eventually(shipped)
    assert row.tracking_number == number
    async with stack_sessions() as s:
        refused = await s.scalar(
            select(func.count())
            .select_from(ScanEvent)
            .where(ScanEvent.shipment_id == shipment.shipment_id, ScanEvent.reason == "wrong_item")
        )
    assert refused == 1


async def labels_print_and_download(page: Any, number: str) -> None:
    """After pack: the label downloads as PDF (its barcode reads back the tracking number)
    and as ZPL, and Print loads the PDF (fetched with the staff key) into the print frame."""
    async with page.expect_download() as info:
        await page.get_by_role("button", name="Download PDF").click()
    download = await info.value
    assert download.suggested_filename == f"label-{number}.pdf"
    pdf = await asyncio.to_thread(Path(await download.path()).read_bytes)
    assert barcodes(pdf) == [("Code128", number)]

    async with page.expect_download() as info:
        await page.get_by_role("button", name="Download ZPL").click()
    zpl = await asyncio.to_thread(Path(await (await info.value).path()).read_text)
    assert zpl.startswith("^XA") and re.search(rf"\^BC[^\^]*\^FH\^FD{number}\^FS", zpl)

    async with page.expect_response(re.compile(r"/label\?format=pdf$")) as answer:
        await page.get_by_role("button", name="Print label").click()
    response = await answer.value
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    frame = page.locator("#print-frame")
    await expect(frame).to_have_attribute("data-tracking", number)
    await expect(frame).to_have_attribute("src", re.compile(r"^blob:"))


async def test_high_value_order_is_re_scanned_at_the_pack_station(
    page: Any, sample_shipment: Make
) -> None:
    shipment = await sample_shipment(tags="VIP, high-value")
    await sign_in_and_open(page, shipment)
    feedback = page.get_by_role("status")
    for code in (MUG[1], MUG[1], TEA[1]):
        await scan(page, code)
    await expect(feedback).to_contain_text("0 left in shipment")
    weight = page.get_by_label("Package weight (grams)")
    await weight.fill(str(2 * MUG[2] + TEA[2] + 80))
    await page.get_by_role("button", name="Pack", exact=True).click()
    await expect(feedback).to_contain_text("items unverified", ignore_case=True)
    await expect(page.locator("#shipment-remaining")).to_have_text("3 items left to verify")

    # The pack station scans each item again; the counts now track the re-scan.
    await expect(page.get_by_label("Scan barcode")).to_be_focused()
    await scan(page, TEA[1])
    await expect(left(page, TEA[0])).to_have_text("0")
    await scan(page, TEA[1])  # only one tea was picked
    await expect(feedback).to_contain_text("not picked", ignore_case=True)
    await scan(page, MUG[1])
    await scan(page, MUG[1])
    await expect(left(page, MUG[0])).to_have_text("0")
    await expect(weight).to_be_focused()
    await page.get_by_role("button", name="Pack", exact=True).click()
    await page.get_by_role("button", name="Protective packaging used").click()  # fragile mug
    await page.get_by_role("button", name="Pack", exact=True).click()
    await expect(page.locator("#tracking-number")).to_have_text(re.compile(r"^SBX"))


async def test_scan_retried_with_same_scan_id(
    page: Any,
    live_url: str,
    sample_shipment: Make,
    stack_sessions: async_sessionmaker[AsyncSession],
) -> None:
    shipment = await sample_shipment()
    sent: list[str] = []

    async def lose_first_answer(route: Any) -> None:
        sent.append(route.request.post_data_json["scan_id"])
        if len(sent) == 1:
            # The scan reaches the server, but the answer is lost on the way back.
            await route.fetch()
            await route.abort("connectionreset")
        else:
            await route.continue_()

    await page.route("**/api/v1/shipments/*/scans", lose_first_answer)
    await sign_in_and_open(page, shipment)
    await scan(page, MUG[1])
    feedback = page.get_by_role("status")
    await expect(left(page, MUG[0])).to_have_text("1")
    await expect(feedback).to_have_class(re.compile(r"\bok\b"))
    assert len(sent) == 2 and sent[0] == sent[1], sent

    async with stack_sessions() as s:
        events = await s.scalar(
            select(func.count())
            .select_from(ScanEvent)
            .where(ScanEvent.shipment_id == shipment.shipment_id, ScanEvent.scan_id == sent[0])
        )
    assert events == 1

    # The work list (API and page) counts the scan once.
    async with httpx.AsyncClient(base_url=live_url) as http:
        items = (
            await http.get(
                "/api/v1/shipments",
                headers={"Authorization": f"Bearer {shipment.staff_key}"},
            )
        ).json()
    (item,) = [i for i in items if i["shipment_id"] == shipment.shipment_id]
    assert {ln["sku"]: ln["picked"] for ln in item["lines"]} == {MUG[0]: 1, TEA[0]: 0}
    await page.get_by_role("button", name="← Work list").click()
    listed = page.locator(f'[data-shipment-id="{shipment.shipment_id}"]')
    await expect(listed).to_contain_text("2 to pick")


async def test_unknown_key_is_refused(page: Any, live_url: str) -> None:
    await page.goto("/scan")
    await page.get_by_label("Staff key").fill("not-a-key")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("status")).to_contain_text("key not accepted", ignore_case=True)
    await expect(page.get_by_label("Staff key")).to_be_visible()


async def test_pack_with_the_carrier_down_shows_pending_then_the_label(
    page: Any, sample_shipment: Make, e2e_carrier: SandboxBehaviour
) -> None:
    """The packer is answered at once with the label pending; the station keeps
    polling the shipment and shows the tracking (and the print buttons) when it comes."""
    shipment = await sample_shipment()
    await sign_in_and_open(page, shipment)
    feedback = page.get_by_role("status")
    for barcode in (MUG[1], MUG[1], TEA[1]):
        await scan(page, barcode)
    await expect(feedback).to_contain_text("0 left in shipment")
    await page.get_by_label("Package weight (grams)").fill(str(2 * MUG[2] + TEA[2] + 80))
    pack = page.get_by_role("button", name="Pack", exact=True)
    await pack.click()  # the fragile mug's template asks for the packaging check first
    await page.get_by_role("button", name="Protective packaging used").click()
    await expect(feedback).to_contain_text("packaging ok", ignore_case=True)
    e2e_carrier.failure_rate = 1.0
    try:
        await pack.click()
        await expect(feedback).to_contain_text("label pending", ignore_case=True)
        await expect(page.locator("#label-pending")).to_be_visible()
    finally:
        e2e_carrier.failure_rate = 0.0  # the carrier's next retry succeeds
    await expect(page.locator("#tracking-number")).to_have_text(re.compile(r"^SBX"), timeout=30_000)
    await expect(page.get_by_role("button", name="Download PDF")).to_be_visible()
