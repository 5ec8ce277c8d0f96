"""Channel sync rules: coalescing, buffers, keys, low-stock crossings, pauses."""

from __future__ import annotations

from domain.channels import (
    LOW_STOCK,
    RESTOCKED,
    SETTLE_SECONDS,
    SkuChange,
    channel_quantity,
    coalesce,
    low_stock_transition,
    next_pause,
    push_key,
)


def test_coalesce_keeps_the_newest_row_per_sku_oldest_first() -> None:
    rows = [(5, "A"), (6, "B"), (7, "A"), (9, "C"), (8, "B")]
    assert coalesce(rows) == [
        SkuChange(sku="A", outbox_id=7),
        SkuChange(sku="B", outbox_id=8),
        SkuChange(sku="C", outbox_id=9),
    ]
    assert coalesce([]) == []


def test_channel_quantity_takes_the_buffer_and_never_goes_negative() -> None:
    assert channel_quantity(10, 3) == 7
    assert channel_quantity(2, 5) == 0
    assert channel_quantity(-1, 0) == 0  # inactive stock can't make it negative either
    assert channel_quantity(4, -2) == 4


def test_push_key_is_deterministic_and_changes_with_the_quantity() -> None:
    assert push_key("pos", "A", 7, 3) == push_key("pos", "A", 7, 3)
    assert push_key("pos", "A", 7, 3) != push_key("pos", "A", 7, 4)
    assert push_key("pos", "A", 7, 3) != push_key("web", "A", 7, 3)


def test_low_stock_fires_once_per_crossing() -> None:
    assert low_stock_transition(4, 5, currently_low=False) == LOW_STOCK
    assert low_stock_transition(3, 5, currently_low=True) is None
    assert low_stock_transition(5, 5, currently_low=True) == RESTOCKED
    assert low_stock_transition(9, 5, currently_low=False) is None
    assert low_stock_transition(0, None, currently_low=False) is None
    assert low_stock_transition(0, None, currently_low=True) == RESTOCKED  # threshold removed


def test_pauses_back_off_while_rows_are_held_back() -> None:
    assert next_pause(5, unsettled=False, previous=None) == 5
    first = next_pause(5, unsettled=True, previous=None)
    assert first == SETTLE_SECONDS
    assert next_pause(5, unsettled=True, previous=first) == 2 * first
    assert next_pause(5, unsettled=True, previous=4) == 5
