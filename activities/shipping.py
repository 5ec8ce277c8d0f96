"""Buy and void shipping labels, once per shipment.

The ``labels`` ledger (one row per shipment) is what makes "once" hold: a purchase is
looked up there first, and a label the carrier sold under an earlier key of the same
shipment (ops changed the service while the first answer was lost) is adopted instead of
bought again. A failed attempt is written on the shipment's row at once (``label_attempts``,
``label_error``): the pack answer stops waiting for a carrier that is failing, and the work
list and ops see why the label is late (docs/decisions/0008-the-label-follows-the-pack.md).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from domain import names
from domain.models import Address, LabelRequest, LabelResult, Tracking, VoidLabelRequest
from integrations.carriers import Carrier, Label
from store.tables import LabelLedger, ShipmentRow, Warehouse


def label_path(shipment_id: str) -> str:
    """Where the API serves a shipment's label (``label_url`` of the pack answer)."""
    return f"/api/v1/shipments/{quote(shipment_id, safe='')}/label?format=pdf"


def label_content(label: Label) -> dict[str, Any]:
    """The ledger columns that keep the label itself and what was printed on it."""
    return {
        "service_level": label.service_level,
        "weight_grams": label.weight_grams,
        "ship_from": label.ship_from.model_dump(mode="json"),
        "ship_to": label.ship_to.model_dump(mode="json"),
        "pdf": label.pdf,
        "zpl": label.zpl,
    }


class ShippingActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], carrier: Carrier) -> None:
        self.sessions = sessions
        self.carrier = carrier

    @activity.defn(name=names.BUY_LABEL)
    async def buy_label(self, req: LabelRequest) -> LabelResult:
        async with self.sessions() as session:
            row = await session.get(LabelLedger, req.shipment_id)
        if row is None:
            try:
                label = await self._purchase(req)
            except Exception as exc:
                await self._note_failure(req.shipment_id, exc)
                raise
            async with self.sessions.begin() as session:
                await session.execute(
                    insert(LabelLedger)
                    .values(
                        shipment_id=req.shipment_id,
                        order_id=req.order_id,
                        idempotency_key=req.idempotency_key,
                        carrier=label.carrier,
                        tracking_number=label.tracking_number,
                        tracking_url=label.tracking_url,
                        label_url=label_path(req.shipment_id),
                        **label_content(label),
                    )
                    .on_conflict_do_nothing()
                )
                row = await session.get(LabelLedger, req.shipment_id)
        assert row is not None
        return LabelResult(
            tracking=Tracking(
                carrier=row.carrier, number=row.tracking_number, url=row.tracking_url
            ),
            label_url=row.label_url,
        )

    async def _purchase(self, req: LabelRequest) -> Label:
        for key in req.earlier_keys:
            sold = await self.carrier.find_label(key=key)
            if sold is not None:
                return sold
        return await self.carrier.buy_label(
            key=req.idempotency_key,
            ship_from=await self._ship_from(req.warehouse),
            ship_to=req.address,
            service_level=req.shipping_method.value,
            weight_grams=req.weight_grams,
            reference=req.shipment_id,
        )

    async def _note_failure(self, shipment_id: str, exc: Exception) -> None:
        """Say on the shipment's row that the carrier failed (best effort: the retry is
        what matters, and a database hiccup here must not mask the carrier's error)."""
        try:
            async with self.sessions.begin() as session:
                await session.execute(
                    update(ShipmentRow)
                    .where(ShipmentRow.shipment_id == shipment_id)
                    .values(
                        label_attempts=ShipmentRow.label_attempts + 1,
                        label_error=str(exc)[:500] or type(exc).__name__,
                    )
                )
        except Exception:  # noqa: BLE001 - see the docstring
            activity.logger.warning("could not note the label failure of %s", shipment_id)

    async def _ship_from(self, warehouse: str) -> Address:
        """The warehouse as the label's sender (read here, not passed in by the workflow)."""
        async with self.sessions() as session:
            row = await session.get(Warehouse, warehouse)
        if row is None:
            return Address(name=warehouse, address1=f"Warehouse {warehouse}")
        return Address(
            name=row.name, address1=f"Warehouse {row.code}", country_code=row.country_code
        )

    @activity.defn(name=names.VOID_LABEL)
    async def void_label(self, req: VoidLabelRequest) -> None:
        async with self.sessions() as session:
            row = await session.scalar(
                select(LabelLedger).where(LabelLedger.shipment_id == req.shipment_id)
            )
        if row is None:
            # Cancelled with the label pending: void whatever the carrier sold anyway.
            for key in req.purchase_keys:
                sold = await self.carrier.find_label(key=key)
                if sold is not None:
                    await self.carrier.void_label(
                        key=f"void-{req.shipment_id}", tracking_number=sold.tracking_number
                    )
            return
        if row.status == "voided":
            return
        await self.carrier.void_label(
            key=f"void-{req.shipment_id}", tracking_number=row.tracking_number
        )
        async with self.sessions.begin() as session:
            await session.execute(
                update(LabelLedger)
                .where(LabelLedger.shipment_id == req.shipment_id)
                .values(status="voided")
            )
