"""Bulk stock import from CSV: every row checked first, then all applied in one transaction.

A file is refused whole when any row is wrong, so a half-applied count never leaves stock
in a state nobody counted. The rows are checked against levels locked ``FOR UPDATE``, so a
reservation cannot slip in between the check and the apply and make a checked row fail.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from store import inventory
from store.tables import InventoryLevel, Product, Warehouse

DEFAULT_REASON = "csv import"
MAX_ROWS = 50_000


@dataclass(frozen=True)
class ImportRow:
    line: int
    sku: str
    warehouse: str
    delta: int | None
    on_hand: int | None
    reason: str


@dataclass(frozen=True)
class RowError:
    """Why a line was refused; ``reason`` is machine-readable, ``detail`` is for people."""

    line: int
    reason: str
    detail: str
    sku: str | None = None
    warehouse: str | None = None


class ImportRefused(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} bad row(s)")
        self.errors = sorted(errors, key=lambda e: e.line)


@dataclass(frozen=True)
class ImportResult:
    rows: int
    applied: int
    unchanged: int
    skus: list[str]


def parse(text: str) -> list[ImportRow]:
    """Rows of ``sku,warehouse,on_hand`` or ``sku,warehouse,delta`` (+ optional ``reason``).

    Line numbers count the header as line 1, as a spreadsheet shows them.

    Raises:
        ImportRefused: a bad header, or rows that are malformed on their own.
    """
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")), skipinitialspace=True)
    header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    problems = _header_problems(header)
    if problems:
        raise ImportRefused([RowError(1, "bad_header", p) for p in problems])
    column = "on_hand" if "on_hand" in header else "delta"
    rows: list[ImportRow] = []
    errors: list[RowError] = []
    for record in reader:
        line = reader.line_num
        values = {k: (v or "").strip() for k, v in record.items() if k is not None}
        if not any(values.values()):
            continue  # a blank line
        if len(rows) + len(errors) >= MAX_ROWS:
            raise ImportRefused([RowError(line, "too_many_rows", f"more than {MAX_ROWS} rows")])
        if None in record:
            errors.append(RowError(line, "extra_columns", "more values than header columns"))
            continue
        sku, warehouse = values.get("sku", ""), values.get("warehouse", "")
        raw = values.get(column, "")
        if not sku or not warehouse:
            errors.append(
                RowError(
                    line,
                    "missing_value",
                    "sku and warehouse are required",
                    sku or None,
                    warehouse or None,
                )
            )
            continue
        try:
            qty = int(raw)
        except ValueError:
            errors.append(
                RowError(
                    line, "not_an_integer", f"{column} {raw!r} is not an integer", sku, warehouse
                )
            )
            continue
        if column == "on_hand" and qty < 0:
            errors.append(RowError(line, "negative", f"on_hand {qty} is negative", sku, warehouse))
            continue
        rows.append(
            ImportRow(
                line=line,
                sku=sku,
                warehouse=warehouse,
                delta=qty if column == "delta" else None,
                on_hand=qty if column == "on_hand" else None,
                reason=values.get("reason") or DEFAULT_REASON,
            )
        )
    if errors:
        raise ImportRefused(errors)
    if not rows:
        raise ImportRefused([RowError(1, "empty", "the file has no data rows")])
    return rows


def _header_problems(header: list[str]) -> list[str]:
    problems = [f"missing column {c}" for c in ("sku", "warehouse") if c not in header]
    has = [c for c in ("on_hand", "delta") if c in header]
    if len(has) != 1:
        problems.append("give exactly one of the columns on_hand or delta")
    unknown = sorted(set(header) - {"sku", "warehouse", "on_hand", "delta", "reason"})
    if unknown:
        problems.append("unknown column(s): " + ", ".join(unknown))
    return problems


async def apply(session: AsyncSession, rows: list[ImportRow], *, actor: str | None) -> ImportResult:
    """Check every row against the catalog and locked levels, then apply them all.

    Runs in the caller's transaction; on ``ImportRefused`` nothing was changed (the caller
    rolls back to release the locks).
    """
    skus = sorted({r.sku for r in rows})
    warehouses = sorted({r.warehouse for r in rows})
    known_skus = set(await session.scalars(select(Product.sku).where(Product.sku.in_(skus))))
    known_whs = set(
        await session.scalars(select(Warehouse.code).where(Warehouse.code.in_(warehouses)))
    )
    errors: list[RowError] = []
    counted: dict[tuple[str, str], int] = {}
    for r in rows:
        if r.sku not in known_skus:
            errors.append(
                RowError(r.line, "unknown_sku", f"no product {r.sku}", r.sku, r.warehouse)
            )
        if r.warehouse not in known_whs:
            errors.append(
                RowError(
                    r.line, "unknown_warehouse", f"no warehouse {r.warehouse}", r.sku, r.warehouse
                )
            )
        if r.on_hand is not None:
            first = counted.setdefault((r.sku, r.warehouse), r.line)
            if first != r.line:
                errors.append(
                    RowError(
                        r.line,
                        "duplicate",
                        f"{r.sku} at {r.warehouse} already counted on line {first}",
                        r.sku,
                        r.warehouse,
                    )
                )
    if errors:
        raise ImportRefused(errors)

    pairs = sorted({(r.sku, r.warehouse) for r in rows})
    locked = (
        await session.scalars(
            select(InventoryLevel)
            .where(tuple_(InventoryLevel.sku, InventoryLevel.warehouse).in_(pairs))
            .order_by(InventoryLevel.sku, InventoryLevel.warehouse)
            .with_for_update()
        )
    ).all()
    state = {(lv.sku, lv.warehouse): [lv.on_hand, lv.reserved] for lv in locked}
    changes: list[bool] = []
    for r in rows:
        on_hand, reserved = state.setdefault((r.sku, r.warehouse), [0, 0])
        new = on_hand + r.delta if r.delta is not None else (r.on_hand or 0)
        if new - reserved < 0:
            errors.append(
                RowError(
                    r.line,
                    "insufficient_stock",
                    f"would take available below zero: {on_hand - reserved} available, "
                    f"{reserved} reserved, on hand would be {new}",
                    r.sku,
                    r.warehouse,
                )
            )
        state[(r.sku, r.warehouse)][0] = new
        changes.append(new != on_hand)
    if errors:
        raise ImportRefused(errors)

    for r in rows:
        # Every row is recorded (a count that matches is worth an audit line too).
        await inventory.adjust(
            session,
            sku=r.sku,
            warehouse=r.warehouse,
            delta=r.delta,
            on_hand=r.on_hand,
            reason=r.reason,
            actor=actor,
        )
    applied = sum(changes)
    return ImportResult(rows=len(rows), applied=applied, unchanged=len(rows) - applied, skus=skus)
