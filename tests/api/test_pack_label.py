"""A packer never waits on the carrier: the pack answers once the parcel is
recorded, the label follows, a late label marks the shipment stuck, ops can retry, and
nothing is bought twice. Through the HTTP API, on a stack of its own whose sandbox carrier
the test takes down and brings back."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from temporalio.client import Client

from integrations.sandbox import SandboxBehaviour
from oms.seed import seed_catalog
from oms.settings import Settings
from store.tables import LabelLedger, SandboxOperation
from tests.api.helpers import SAMPLE, eventually
from tests.api.test_sample_order import MUG, TEA, make_key, shopify_post
from tests.conftest import Stack, isolated_stack

#: The sample order: two mugs and a tea, shipped from Portland in a box.
WEIGHT = 2 * MUG[2] + TEA[2] + 80


@pytest.fixture
def carrier() -> SandboxBehaviour:
    """The sandbox carrier's behaviour: the test sets its failure rate."""
    return SandboxBehaviour(latency_ms=(1, 5), failure_rate=0)


@pytest.fixture
async def stack(
    database_url: str, client: Client, settings: Settings, carrier: SandboxBehaviour
) -> AsyncIterator[Stack]:
    async with isolated_stack(
        database_url,
        client,
        settings,
        "packlabel",
        carrier=carrier,
        label_sla_seconds=3,
        pack_label_wait_seconds=5.0,
    ) as s:
        async with s.sessions.begin() as session:
            await seed_catalog(session, api_url="http://oms.test")
        yield s


@pytest.fixture
async def http(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=stack.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://oms.test") as c:
        yield c


async def picked_shipment(stack: Stack, http: httpx.AsyncClient) -> dict[str, Any]:
    """The sample order, picked and its packaging checked: ready for the pack."""
    # An order id of its own: workflow ids are business keys on the shared Temporal server.
    payload = json.loads(SAMPLE.read_bytes())
    payload["id"] = random.randrange(10**12, 10**13)
    body = json.dumps(payload).encode()
    r = await shopify_post(http, stack.settings, body, webhook_id=f"pack-{payload['id']}")
    assert r.status_code == 202, r.text
    order_id = r.json()["order_id"]
    admin = await make_key(stack, "admin")

    async def ready() -> dict[str, Any] | None:
        d = (await http.get(f"/api/v1/orders/{order_id}", headers=admin)).json()
        return d if d.get("status") == "ready_to_pick" else None

    shipment = (await eventually(ready))["shipments"][0]
    sid, staff = shipment["shipment_id"], await make_key(stack, "staff", shipment["warehouse"])

    async def listed() -> bool:
        work = (await http.get("/api/v1/shipments", headers=staff)).json()
        return any(w["shipment_id"] == sid for w in work)

    await eventually(listed)
    for barcode, scan_id in ((MUG[1], "s1"), (MUG[1], "s2"), (TEA[1], "s3")):
        r = await http.post(
            f"/api/v1/shipments/{sid}/scans",
            headers=staff,
            json={"barcode": barcode, "scan_id": scan_id},
        )
        assert r.status_code == 200, r.text
    r = await http.post(f"/api/v1/shipments/{sid}/packaging-check", headers=staff, json={})
    assert r.status_code == 200, r.text
    return {"order_id": order_id, "shipment_id": sid, "staff": staff, "admin": admin}


async def labels_bought(stack: Stack, shipment_id: str) -> tuple[int, int]:
    """(label ledger rows, label purchases the sandbox carrier remembers) for a shipment."""
    async with stack.sessions() as s:
        ledger = await s.scalar(select(func.count()).where(LabelLedger.shipment_id == shipment_id))
        sold = await s.scalar(
            select(func.count()).where(
                SandboxOperation.kind == "label",
                SandboxOperation.idempotency_key.like(f"label-{shipment_id}%"),
            )
        )
    return int(ledger or 0), int(sold or 0)


async def test_pack_with_a_working_carrier_answers_ready_with_the_label(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    o = await picked_shipment(stack, http)
    url = f"/api/v1/shipments/{o['shipment_id']}/pack"
    r = await http.post(url, headers=o["staff"], json={"weight_grams": WEIGHT})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["label_status"] == "ready"
    assert body["tracking"]["number"] and body["label_url"]
    # Packing again answers the current state: the same label, no second purchase.
    again = await http.post(url, headers=o["staff"], json={"weight_grams": WEIGHT})
    assert again.status_code == 200 and again.json()["tracking"] == body["tracking"]
    assert await labels_bought(stack, o["shipment_id"]) == (1, 1)


async def test_pack_with_the_carrier_down_answers_pending_then_the_label_follows_once(
    stack: Stack, http: httpx.AsyncClient, carrier: SandboxBehaviour
) -> None:
    o = await picked_shipment(stack, http)
    sid = o["shipment_id"]
    carrier.failure_rate = 1.0  # every purchase attempt times out
    r = await http.post(
        f"/api/v1/shipments/{sid}/pack", headers=o["staff"], json={"weight_grams": WEIGHT}
    )
    assert r.status_code == 202, r.text
    assert r.json()["label_status"] == "pending" and r.json()["tracking"] is None

    # The parcel is recorded: packed, the label pending, on the work list and the order.
    detail = (await http.get(f"/api/v1/shipments/{sid}", headers=o["staff"])).json()
    assert detail["status"] == "packed" and detail["label_status"] == "pending"
    work = (await http.get("/api/v1/shipments", headers=o["staff"])).json()
    assert [w["label_status"] for w in work if w["shipment_id"] == sid] == ["pending"]
    order = (await http.get(f"/api/v1/orders/{o['order_id']}", headers=o["admin"])).json()
    assert order["status"] == "packing"

    # Past the label SLA (3 s here) the shipment and its order are stuck for ops.
    async def stuck() -> list[dict[str, Any]]:
        rows = (await http.get("/api/v1/ops/stuck", headers=o["admin"])).json()
        return [s for s in rows if s["order_id"] == o["order_id"]]

    [row] = await eventually(stuck)
    assert row["reason"].startswith("carrier_unavailable")
    detail = (await http.get(f"/api/v1/shipments/{sid}", headers=o["staff"])).json()
    assert detail["stuck"]["reason"] == "carrier_unavailable"
    assert detail["label_attempts"] >= 1 and detail["label_error"]
    work = (await http.get("/api/v1/shipments", headers=o["staff"])).json()
    assert [w["stuck_reason"] for w in work if w["shipment_id"] == sid] == ["carrier_unavailable"]
    # Staff can't ask for the label again; ops can, once the carrier is back.
    r = await http.post(f"/api/v1/shipments/{sid}/label/retry", headers=o["staff"], json={})
    assert r.status_code == 403
    carrier.failure_rate = 0.0
    r = await http.post(
        f"/api/v1/shipments/{sid}/label/retry",
        headers=o["admin"],
        json={"service_level": "standard"},
    )
    assert r.status_code == 202, r.text

    async def shipped() -> dict[str, Any] | None:
        d = (await http.get(f"/api/v1/shipments/{sid}", headers=o["staff"])).json()
        return d if d["label_status"] == "ready" and d["status"] == "shipped" else None

    done = await eventually(shipped)
    assert done["tracking"]["number"] and done["label_url"] and done["stuck"] is None
    assert await eventually(lambda: _not(stuck)) is True
    # Packing again answers the label; one label in the ledger and at the carrier.
    r = await http.post(
        f"/api/v1/shipments/{sid}/pack", headers=o["staff"], json={"weight_grams": WEIGHT}
    )
    assert r.status_code == 200 and r.json()["tracking"] == done["tracking"]
    assert await labels_bought(stack, sid) == (1, 1)
    # A retry now is refused: the label is no longer pending.
    r = await http.post(f"/api/v1/shipments/{sid}/label/retry", headers=o["admin"], json={})
    assert r.status_code == 409 and r.json()["reason"] in ("label_not_pending", "not_open")


async def _not(probe: Any) -> bool:
    return not await probe()
