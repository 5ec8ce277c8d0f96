"""Bounds of the numbers and texts the API takes, as annotated types the models share.

Every integer that reaches a Postgres ``integer`` or ``bigint`` column (or a timer) has a
range inside that column's and below a business maximum, so a hostile number is a 422
naming the field, not a 500 from Postgres' ``numeric value out of range``; and every text
has a length, so /openapi.json says both (docs/decisions/0011-hostile-input.md). NUL and
lone surrogates are refused for every field at once by api/input_guard.py.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import Path
from pydantic import Field

INT4_MAX = 2**31 - 1
INT8_MAX = 2**63 - 1
#: Stock levels, capacities, buffers, thresholds: a billion units of one SKU is beyond
#: any warehouse, and a level plus a delta of this size still fits ``integer``.
UNITS_MAX = 1_000_000_000

#: Units of one SKU (levels, counts, thresholds, capacities): 0 .. a billion.
Units = Annotated[int, Field(ge=0, le=UNITS_MAX)]
#: A stock change: +/- a billion.
UnitsDelta = Annotated[int, Field(ge=-UNITS_MAX, le=UNITS_MAX)]
#: Units of one line of an order or one scan.
LineQuantity = Annotated[int, Field(gt=0, le=100_000)]
#: A parcel or product weight: a gram to a tonne.
Grams = Annotated[int, Field(gt=0, le=1_000_000)]
#: A warehouse's routing rank (larger first).
Rank = Annotated[int, Field(ge=-1_000_000, le=1_000_000)]
#: A rules/templates version the editor started from.
Version = Annotated[int, Field(ge=0, le=INT4_MAX)]
#: A unit price: an order's total is ``numeric(14, 2)``.
Price = Annotated[Decimal, Field(ge=0, le=1_000_000, max_digits=16, decimal_places=4)]
#: Latitude and longitude in degrees.
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
#: Shopify's REST ids (``bigint``).
ShopifyId = Annotated[int, Field(ge=1, le=INT8_MAX)]
#: An id, code or name in a path (orders, shipments, SKUs, warehouses, keys ...): longer
#: than any the OMS makes, short enough that no lookup is ever handed a megabyte.
PathText = Annotated[str, Path(min_length=1, max_length=200)]
#: A ``bigserial`` id in a path.
RowId = Annotated[int, Path(ge=1, le=INT8_MAX)]

#: Short codes and references.
Sku = Annotated[str, Field(min_length=1, max_length=64)]
WarehouseCode = Annotated[str, Field(min_length=1, max_length=32)]
Barcode = Annotated[str, Field(min_length=1, max_length=100)]
Tag = Annotated[str, Field(min_length=1, max_length=100)]
ZoneName = Annotated[str, Field(min_length=1, max_length=64)]
