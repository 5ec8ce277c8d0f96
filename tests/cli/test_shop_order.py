"""``oms shop-order``: an order sold in the sandbox store comes in by its signed webhook and
its shipment is written back to the store — the dev loop of docs/decisions/0009."""

from __future__ import annotations

from typing import Any

import pytest

from oms.cli import main
from oms.seed import SANDBOX_SHOP_DOMAIN, demo_channels
from oms.shop_order import parse_lines, sell
from tests.api.helpers import eventually
from tests.api.test_shopify_writeback import (  # noqa: F401 (fixtures)
    SHOP,
    TEA,
    WritebackStack,
    in_shopify,
    ship,
    shipments_ready,
    stack,
    store_config,
)


def test_lines_are_sku_and_quantity() -> None:
    assert parse_lines(["TEA-SEN-100:2", "GFT-BOX-01"]) == [("TEA-SEN-100", 2), ("GFT-BOX-01", 1)]
    for bad in (":2", "TEA:two", "TEA:0"):
        with pytest.raises(ValueError, match=bad.split(":")[0] or ":"):
            parse_lines([bad])


def test_a_bad_line_is_refused_before_anything_is_sold(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["shop-order", "TEA-SEN-100:0", "--api", "http://127.0.0.1:9"]) == 2
    assert "at least 1" in capsys.readouterr().err


def test_the_demo_store_writes_back_and_the_sample_orders_shop_does_not() -> None:
    shopify = next(c for c in demo_channels("http://x") if c["code"] == "shopify")
    assert shopify["config"]["shop_domain"] == SANDBOX_SHOP_DOMAIN != "demo.myshopify.com"


async def test_a_sold_order_comes_in_and_its_shipment_reaches_the_store(
    stack: WritebackStack,  # noqa: F811
) -> None:
    order_id, order = await sell(
        stack.http,
        [(TEA, 1)],
        webhook_secret=stack.settings.shopify_webhook_secret,
        shop_domain=SHOP,
    )
    (shipment,) = await shipments_ready(stack, order_id, 1)
    number = await ship(stack, shipment)

    async def fulfilled() -> list[dict[str, Any]] | None:
        got = (await in_shopify(stack, order["id"]))["fulfillments"]
        return got or None

    (fulfillment,) = await eventually(fulfilled, attempts=400)
    assert fulfillment["trackingInfo"][0]["number"] == number
