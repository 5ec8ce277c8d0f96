"""Fulfillment templates over HTTP: the defaults, versioned validated saves, the steps
preview, and orders taking the templates in force at intake.

Templates are global in the test database: this is the only module that PUTs them, and it
restores the set it found in a ``finally`` (as a new version: versions never go back).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.worker import Worker

from domain.templates import DEFAULT_TEMPLATES, TemplateSet
from store.templates import load_templates, save_templates
from tests.api.conftest import KeyMaker, OpenShipment
from tests.api.helpers import eventually
from tests.conftest import Catalog, scratch_sessions

Sessions = async_sessionmaker[AsyncSession]
MakeCatalog = Callable[..., Awaitable[Catalog]]
URL = "/api/v1/rules/templates"
STEPS = f"{URL}/steps"
ORDERS = "/api/v1/orders"
PORTLAND = {
    "name": "Mara Lindqvist",
    "address1": "418 Alder Street",
    "city": "Portland",
    "province_code": "OR",
    "zip": "97205",
    "country_code": "US",
}
GIFT = {"tag": "gift", "adds": ["packaging_check"], "sla_seconds": {"packaging_check": 1800}}
_DEFAULT_JSON = DEFAULT_TEMPLATES.model_dump(mode="json")
GIFT_SET = TemplateSet.model_validate(
    {**_DEFAULT_JSON, "templates": [*_DEFAULT_JSON["templates"], GIFT]}
)


@asynccontextmanager
async def restoring(
    http: httpx.AsyncClient, admin: dict[str, str]
) -> AsyncIterator[dict[str, Any]]:
    """Yield the templates in force (version and set); afterwards save that set again."""
    r = await http.get(URL, headers=admin)
    assert r.status_code == 200, r.text
    before: dict[str, Any] = r.json()
    try:
        yield before
    finally:
        r = await http.put(URL, json={"templates": before["templates"]}, headers=admin)
        assert r.status_code == 200, r.text


def steps_of(body: list[dict[str, Any]]) -> dict[str, tuple[int, str | None]]:
    return {s["step"]: (s["sla_seconds"], s["added_by"]) for s in body}


async def order_detail(http: httpx.AsyncClient, admin: dict[str, str], order_id: str) -> Any:
    async def probe() -> dict[str, Any] | None:
        r = await http.get(f"{ORDERS}/{order_id}", headers=admin)
        return r.json() if r.status_code == 200 and r.json()["live"] else None

    return await eventually(probe)


async def post_order(
    http: httpx.AsyncClient, admin: dict[str, str], sku: str, tags: list[str]
) -> str:
    body = {
        "external_id": uuid.uuid4().hex[:12],
        "channel": "web",
        "email": "mara@example.com",
        "shipping_address": PORTLAND,
        "shipping_method": "standard",
        "lines": [{"sku": sku, "quantity": 1, "unit_price": "20.00"}],
        "financial_status": "paid",
        "tags": tags,
    }
    r = await http.post(
        ORDERS, json=body, headers={**admin, "Idempotency-Key": f"tpl-{uuid.uuid4()}"}
    )
    assert r.status_code == 202, r.text
    return str(r.json()["order_id"])


# --- reading --------------------------------------------------------------------------------


async def test_defaults_are_version_0_until_a_set_is_saved(database_url: str) -> None:
    # A database of its own: in the session's, another test may have saved a set already.
    async with scratch_sessions(database_url, "oms_tpl") as fresh:
        async with fresh() as s:
            assert await load_templates(s) == (0, DEFAULT_TEMPLATES)
        async with fresh.begin() as s:
            await save_templates(s, GIFT_SET, actor="test", expected=0)
        async with fresh() as s:
            assert await load_templates(s) == (1, GIFT_SET)


async def test_the_default_steps_for_tags(
    http: httpx.AsyncClient, make_key: KeyMaker, admin: dict[str, str]
) -> None:
    ops = await make_key("ops")
    default_json = DEFAULT_TEMPLATES.model_dump(mode="json")
    async with restoring(http, admin):
        # The defaults in force, whatever an earlier test saved: set what is asserted on.
        r = await http.put(URL, json={"templates": default_json}, headers=admin)
        assert r.status_code == 200, r.text
        r = await http.get(URL, headers=ops)
        assert r.status_code == 200, r.text
        assert r.json()["version"] >= 1 and r.json()["templates"] == default_json
        r = await http.get(STEPS, headers=ops, params={"tags": "fragile, High-Priority"})
        assert r.status_code == 200, r.text
        tagged = r.json()
        r = await http.get(STEPS, headers=ops)  # no tags: the default steps
        assert r.status_code == 200, r.text
        untagged = r.json()
    base = {step.value: sla for step, sla in DEFAULT_TEMPLATES.base_sla_seconds.items()}
    assert steps_of(tagged) == {
        step: (base[step] // 2, "fragile" if step == "packaging_check" else None)
        for step in ("verify", "pay", "allocate", "pick", "packaging_check", "pack", "ship")
    }
    assert [s["step"] for s in tagged] == [
        "verify",
        "pay",
        "allocate",
        "pick",
        "packaging_check",
        "pack",
        "ship",
    ]
    assert [s["step"] for s in untagged] == ["verify", "pay", "allocate", "pick", "pack", "ship"]
    assert steps_of(untagged) == {step: (base[step], None) for step in steps_of(untagged)}


async def test_roles(http: httpx.AsyncClient, make_key: KeyMaker) -> None:
    staff = await make_key("staff", "WH-ROLES")
    ops = await make_key("ops")
    integration = await make_key("integration")
    assert (await http.get(URL)).status_code == 401
    for who in (staff, integration):
        assert (await http.get(URL, headers=who)).status_code == 403
        assert (await http.get(STEPS, headers=who)).status_code == 403
    body = {"templates": DEFAULT_TEMPLATES.model_dump(mode="json")}
    for who in (staff, ops, integration):
        r = await http.put(URL, json=body, headers=who)
        assert r.status_code == 403, r.text
        assert r.json()["reason"] == "forbidden"


# --- saving, and orders taking the templates in force ------------------------------------------


async def test_a_new_tag_template_is_saved_validated_and_applied_to_new_orders(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    worker: Worker,
    make_catalog: MakeCatalog,
    open_shipment: Callable[..., Awaitable[OpenShipment]],
) -> None:
    cat = await make_catalog()
    sku = cat.skus[0]
    async with restoring(http, admin) as before:
        version = before["version"]
        assert all(t["tag"] != "gift" for t in before["templates"]["templates"])
        r = await http.get(STEPS, headers=admin, params={"tags": "gift"})
        assert "packaging_check" not in [s["step"] for s in r.json()]
        earlier = await post_order(http, admin, sku, ["gift"])
        earlier_steps = [s["step"] for s in (await order_detail(http, admin, earlier))["steps"]]
        assert "packaging_check" not in earlier_steps

        wanted = copy.deepcopy(before["templates"])
        wanted["templates"].append(GIFT)
        r = await http.put(
            URL, json={"templates": wanted, "expected_version": version}, headers=admin
        )
        assert r.status_code == 200, r.text
        saved = r.json()
        assert saved["version"] == version + 1
        assert saved["templates"]["templates"][-1]["tag"] == "gift"
        r = await http.get(URL, headers=admin)
        assert r.json()["version"] == version + 1
        assert r.json()["templates"] == saved["templates"]

        # Invalid sets are refused and change nothing.
        adds_pick = copy.deepcopy(wanted)
        adds_pick["templates"].append({"tag": "rush", "adds": ["pick"]})
        twice = copy.deepcopy(wanted)
        twice["templates"].append({"tag": "gift", "adds": ["pack_verification"]})
        no_ship = copy.deepcopy(wanted)
        del no_ship["base_sla_seconds"]["ship"]
        zero_sla = copy.deepcopy(wanted)
        zero_sla["templates"].append({"tag": "slow", "sla_seconds": {"pick": 0}})
        looser = copy.deepcopy(wanted)
        looser["templates"].append({"tag": "lazy", "sla_factor": 2})
        unknown_step = copy.deepcopy(wanted)
        unknown_step["templates"].append({"tag": "gift-wrap", "adds": ["wrap"]})
        for bad in (adds_pick, twice, no_ship, zero_sla, looser, unknown_step):
            r = await http.put(URL, json={"templates": bad}, headers=admin)
            assert r.status_code == 422, (bad, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["reason"] == "validation_error"
        r = await http.get(URL, headers=admin)
        assert r.json()["version"] == version + 1
        assert r.json()["templates"] == saved["templates"]

        # A stale editor does not overwrite the new version.
        r = await http.put(
            URL, json={"templates": wanted, "expected_version": version}, headers=admin
        )
        assert r.status_code == 409, r.text
        assert r.json()["reason"] == "version_conflict"
        assert r.json()["current_version"] == version + 1
        assert (await http.get(URL, headers=admin)).json()["version"] == version + 1

        r = await http.get(STEPS, headers=admin, params={"tags": "gift"})
        assert r.status_code == 200, r.text
        assert steps_of(r.json())["packaging_check"] == (1800, "gift")
        assert [s["step"] for s in r.json()].index("packaging_check") == 4

        # The order taken before the change keeps its steps.
        d = await order_detail(http, admin, earlier)
        assert [s["step"] for s in d["steps"]] == earlier_steps

        # Orders taken now: tagged gift by the API ...
        posted = await post_order(http, admin, sku, ["gift"])
        d = await order_detail(http, admin, posted)
        assert steps_of(d["steps"])["packaging_check"] == (1800, "gift")

        # ... or by Shopify ("Gift": tags match templates case-insensitively), and the
        # workflow enforces the extra step.
        ship = await open_shipment([sku], [1], tags="Gift, VIP")
        d = await order_detail(http, admin, ship.order_id)
        assert {"Gift", "high-priority"} <= set(d["tags"])  # the sample ships Express
        assert steps_of(d["steps"])["packaging_check"] == (900, "gift")  # and SLAs halve
        r = await http.post(
            ship.scans_url, headers=ship.staff, json={"barcode": cat.barcodes[sku], "scan_id": "g1"}
        )
        assert r.status_code == 200, r.text
        r = await http.post(
            ship.pack_url, headers=ship.staff, json={"weight_grams": cat.weights[sku]}
        )
        assert r.status_code == 422 and r.json()["reason"] == "packaging_unchecked", r.text
        check = f"/api/v1/shipments/{ship.shipment_id}/packaging-check"
        r = await http.post(check, headers=ship.staff, json={})
        assert r.status_code == 200 and r.json()["packaging_checked"] is True, r.text
        r = await http.post(
            ship.pack_url, headers=ship.staff, json={"weight_grams": cat.weights[sku]}
        )
        assert r.status_code == 200, r.text

    after = (await http.get(URL, headers=admin)).json()
    assert after["version"] == version + 2
    assert after["templates"] == before["templates"]
