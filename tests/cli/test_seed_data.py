"""The demo catalog is valid data: real GTINs, the sample order's SKUs, sane stock."""

from __future__ import annotations

from domain.barcodes import is_valid_gtin, normalize_gtin
from oms.seed import PRODUCTS, WAREHOUSES, stock_quantity


def test_every_barcode_is_a_valid_gtin_and_unique() -> None:
    for p in PRODUCTS:
        assert len(p.barcode) in (12, 13), p
        assert is_valid_gtin(p.barcode), p
    normalized = [normalize_gtin(p.barcode) for p in PRODUCTS]
    assert len(set(normalized)) == len(normalized)


def test_sample_order_skus_match_the_samples_table() -> None:
    by_sku = {p.sku: p for p in PRODUCTS}
    assert by_sku["MUG-CER-350"].barcode == "4006381333931"
    assert by_sku["MUG-CER-350"].weight_grams == 420
    assert by_sku["TEA-SEN-100"].barcode == "5901234123457"
    assert by_sku["TEA-SEN-100"].weight_grams == 610


def test_catalog_shape() -> None:
    assert len(PRODUCTS) >= 20
    assert len({p.sku for p in PRODUCTS}) == len(PRODUCTS)
    assert any("fragile" in p.tags for p in PRODUCTS)
    assert any(len(p.barcode) == 12 for p in PRODUCTS), "some UPC-A (GTIN-12) too"
    assert all(p.weight_grams > 0 for p in PRODUCTS)
    assert len(WAREHOUSES) >= 3
    assert len({w.code for w in WAREHOUSES}) == len(WAREHOUSES)
    # Different regions: no two warehouses within ~5 degrees of each other.
    for i, a in enumerate(WAREHOUSES):
        for b in WAREHOUSES[i + 1 :]:
            assert abs(a.latitude - b.latitude) + abs(a.longitude - b.longitude) > 5, (a, b)
        assert -90 <= a.latitude <= 90 and -180 <= a.longitude <= 180
        assert len(a.country_code) == 2


def test_stock_is_between_50_and_200() -> None:
    for w in WAREHOUSES:
        for p in PRODUCTS:
            assert 50 <= stock_quantity(p.sku, w.code) <= 200
