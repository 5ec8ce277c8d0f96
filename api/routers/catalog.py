"""Warehouses and products. Barcodes are checked and normalised before they are stored."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.exc import IntegrityError

from api.auth import Ops, Reader
from api.bounds import PathText
from api.deps import Session
from api.problems import Problem, problem_responses
from api.schemas.catalog import (
    PackagingBarcode,
    ProductIn,
    ProductOut,
    WarehouseIn,
    WarehouseOut,
    WarehousePatch,
)
from domain.codes import ProblemCode
from store import catalog

router = APIRouter(prefix="/api/v1", tags=["catalog"], responses=problem_responses(401, 403))


@router.post(
    "/warehouses", status_code=201, response_model=WarehouseOut, responses=problem_responses(409)
)
async def create_warehouse(body: WarehouseIn, session: Session, _: Ops) -> WarehouseOut:
    try:
        row = await catalog.create_warehouse(session, **body.model_dump())
        await session.commit()
    except (catalog.AlreadyExists, IntegrityError) as exc:
        raise Problem(
            409, f"warehouse {body.code} already exists", reason=ProblemCode.DUPLICATE
        ) from exc
    return WarehouseOut.model_validate(row)


@router.patch(
    "/warehouses/{code}", response_model=WarehouseOut, responses=problem_responses(404, 422)
)
async def patch_warehouse(
    code: PathText, body: WarehousePatch, session: Session, _: Ops
) -> WarehouseOut:
    """Change what routing reads; only the fields sent change (``null`` clears capacity
    and cut-off)."""
    row = await catalog.get_warehouse(session, code)
    if row is None:
        raise Problem(404, f"no warehouse {code}", reason=ProblemCode.UNKNOWN_WAREHOUSE)
    for field, value in body.model_dump(exclude_unset=True).items():
        if value is None and field not in ("daily_capacity", "carrier_cutoff"):
            continue
        setattr(row, field, value)
    await session.commit()
    return WarehouseOut.model_validate(row)


@router.get("/warehouses", response_model=list[WarehouseOut])
async def list_warehouses(session: Session, _: Reader) -> list[WarehouseOut]:
    return [WarehouseOut.model_validate(w) for w in await catalog.list_warehouses(session)]


@router.post(
    "/products", status_code=201, response_model=ProductOut, responses=problem_responses(409, 422)
)
async def create_product(body: ProductIn, session: Session, _: Ops) -> ProductOut:
    try:
        info = await catalog.create_product(
            session,
            sku=body.sku,
            name=body.name,
            weight_grams=body.weight_grams,
            barcodes=body.barcodes,
            tags=body.tags,
            packaging={p.barcode: p.quantity for p in body.packaging},
        )
        await session.commit()
    except ValueError as exc:
        raise Problem(422, str(exc), reason=ProblemCode.INVALID_BARCODE) from exc
    except catalog.BarcodeTaken as exc:
        raise Problem(409, str(exc), reason=ProblemCode.BARCODE_TAKEN) from exc
    except (catalog.AlreadyExists, IntegrityError) as exc:
        raise Problem(
            409,
            f"product {body.sku} already exists or a barcode is taken",
            reason=ProblemCode.DUPLICATE,
        ) from exc
    return _product_out(info)


@router.get("/products/{sku}", response_model=ProductOut, responses=problem_responses(404))
async def get_product(sku: PathText, session: Session, _: Reader) -> ProductOut:
    info = await catalog.get_product(session, sku)
    if info is None:
        raise Problem(404, f"no product {sku}", reason=ProblemCode.NOT_FOUND)
    return _product_out(info)


def _product_out(info: catalog.ProductInfo) -> ProductOut:
    return ProductOut(
        sku=info.sku,
        name=info.name,
        barcodes=info.barcodes,
        weight_grams=info.weight_grams,
        tags=info.tags,
        packaging=[PackagingBarcode(barcode=g, quantity=q) for g, q in info.packaging.items()],
    )
