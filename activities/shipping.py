"""Buy and void shipping labels, once per shipment."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from domain.models import LabelRequest, LabelResult, Tracking, VoidLabelRequest
from integrations.carriers import Carrier
from store.tables import LabelLedger
from workflows import names


class ShippingActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], carrier: Carrier) -> None:
        self.sessions = sessions
        self.carrier = carrier

    @activity.defn(name=names.BUY_LABEL)
    async def buy_label(self, req: LabelRequest) -> LabelResult:
        async with self.sessions() as session:
            row = await session.get(LabelLedger, req.shipment_id)
        if row is None:
            label = await self.carrier.buy_label(
                key=req.idempotency_key,
                service_level=req.shipping_method.value,
                weight_grams=req.weight_grams,
                destination=f"{req.address.zip} {req.address.country_code}",
            )
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
                        label_url=label.label_url,
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

    @activity.defn(name=names.VOID_LABEL)
    async def void_label(self, req: VoidLabelRequest) -> None:
        async with self.sessions() as session:
            row = await session.scalar(
                select(LabelLedger).where(LabelLedger.shipment_id == req.shipment_id)
            )
        if row is None or row.status == "voided":
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
