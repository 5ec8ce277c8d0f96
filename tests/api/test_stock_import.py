"""Bulk CSV stock import: all rows or none, every bad row named with its line."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from tests.conftest import Catalog


async def levels(http: httpx.AsyncClient, headers: dict[str, str], sku: str) -> dict[str, int]:
    r = await http.get("/api/v1/inventory", params={"sku": sku}, headers=headers)
    return {lv["warehouse"]: lv["on_hand"] for lv in r.json()}


async def test_counts_and_deltas_apply_in_one_go(
    make_catalog: Callable[..., Awaitable[Catalog]],
    make_key: Callable[..., Awaitable[dict[str, str]]],
    http: httpx.AsyncClient,
) -> None:
    cat = await make_catalog({"PDX": {"0": 10, "1": 5}}, n_products=2)
    ops = await make_key("ops")
    a, b = cat.skus
    pdx, nj = cat.warehouses[0], cat.warehouses[1]
    counts = f"sku,warehouse,on_hand,reason\n{a},{pdx},25,cycle count\n{a},{nj},3,\n{b},{pdx},5,\n"
    r = await http.post(
        "/api/v1/inventory/import",
        content=counts,
        headers={**ops, "Content-Type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"rows": 3, "applied": 2, "unchanged": 1, "skus": 2}
    assert await levels(http, ops, a) == {pdx: 25, nj: 3}

    # The same endpoint takes a multipart upload; deltas add up, several rows per level.
    deltas = f"sku,warehouse,delta\n{a},{pdx},-5\n{a},{pdx},+2\n{b},{nj},7\n"
    r = await http.post(
        "/api/v1/inventory/import",
        headers=ops,
        files={"file": ("receipts.csv", deltas.encode(), "text/csv")},
    )
    assert r.status_code == 200, r.text
    assert r.json()["rows"] == 3
    assert await levels(http, ops, a) == {pdx: 22, nj: 3}
    assert await levels(http, ops, b) == {pdx: 5, nj: 7}


async def test_a_bad_file_is_refused_whole_with_each_bad_row(
    make_catalog: Callable[..., Awaitable[Catalog]],
    make_key: Callable[..., Awaitable[dict[str, str]]],
    http: httpx.AsyncClient,
) -> None:
    cat = await make_catalog({"PDX": {"0": 10}}, n_products=1)
    ops = await make_key("ops")
    sku, pdx = cat.skus[0], cat.warehouses[0]
    before = await levels(http, ops, sku)

    malformed = f"sku,warehouse,delta\n{sku},{pdx},5\n{sku},{pdx},lots\n{sku},{pdx},1.5\n,{pdx},1\n"
    r = await http.post(
        "/api/v1/inventory/import", content=malformed, headers={**ops, "Content-Type": "text/csv"}
    )
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["reason"] == "invalid_rows"
    assert [(e["line"], e["reason"]) for e in body["errors"]] == [
        (3, "not_an_integer"),
        (4, "not_an_integer"),
        (5, "missing_value"),
    ]

    unknown_and_short = (
        "sku,warehouse,on_hand\n"
        f"{sku},{pdx},50\n"
        f"NOPE-{sku},{pdx},1\n"
        f"{sku},NOWHERE,1\n"
        f"{sku},{cat.warehouses[1]},-4\n"
    )
    r = await http.post(
        "/api/v1/inventory/import",
        content=unknown_and_short,
        headers={**ops, "Content-Type": "text/csv"},
    )
    assert r.status_code == 422
    assert [(e["line"], e["reason"]) for e in r.json()["errors"]] == [(5, "negative")]

    r = await http.post(
        "/api/v1/inventory/import",
        content="\n".join(unknown_and_short.splitlines()[:4]),
        headers={**ops, "Content-Type": "text/csv"},
    )
    assert r.status_code == 422
    errors = {(e["line"], e["reason"]) for e in r.json()["errors"]}
    assert errors == {(3, "unknown_sku"), (4, "unknown_warehouse")}

    # 10 on hand: taking 11 would go below zero; the good first row is not applied either.
    short = f"sku,warehouse,delta\n{sku},{pdx},+1\n{sku},{pdx},-12\n"
    r = await http.post(
        "/api/v1/inventory/import", content=short, headers={**ops, "Content-Type": "text/csv"}
    )
    assert r.status_code == 422
    [err] = r.json()["errors"]
    assert (err["line"], err["reason"], err["sku"]) == (3, "insufficient_stock", sku)

    bad_header = "sku,warehouse,on_hand,delta\nX,Y,1,1\n"
    r = await http.post(
        "/api/v1/inventory/import", content=bad_header, headers={**ops, "Content-Type": "text/csv"}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["reason"] == "bad_header"

    assert await levels(http, ops, sku) == before  # nothing of any refused file applied


async def test_import_needs_ops_and_csv(
    make_key: Callable[..., Awaitable[dict[str, str]]], http: httpx.AsyncClient
) -> None:
    staff = await make_key("staff", "WH-X")
    r = await http.post(
        "/api/v1/inventory/import",
        content="sku,warehouse,delta\n",
        headers={**staff, "Content-Type": "text/csv"},
    )
    assert r.status_code == 403
    ops = await make_key("ops")
    r = await http.post("/api/v1/inventory/import", json={"rows": []}, headers=ops)
    assert r.status_code == 415
