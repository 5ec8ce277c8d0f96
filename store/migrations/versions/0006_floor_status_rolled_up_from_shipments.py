"""floor status rolled up from shipments: ``shipments.steps_done`` and two triggers

The order workflow no longer hears every floor move (a signal and two workflow tasks each):
its status stays ``ready_to_pick`` while the shipments are on the floor, and the read model
rolls ``picking``/``packing`` up from the shipments' own rows, which every floor write
(a scan's, a pack's, a workflow's) advances. One rule, ``oms_floor_status``, the same as
``domain.status.floor_status`` (a test holds them together):

- AFTER a shipment row is written, its order (if it is at a floor status) takes the rolled
  up status, in the same statement: a scan's single write keeps order and shipment true.
- BEFORE an order row is written with a floor status, the status is rolled up the same way:
  the workflow's own projection writes cannot move the floor back.

See docs/decisions/0001-floor-state-in-the-read-model.md.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FLOOR_STATUS_FUNCTION = """
CREATE OR REPLACE FUNCTION oms_floor_status(p_order_id text) RETURNS text
LANGUAGE sql STABLE AS $$
    WITH live AS (
        SELECT s.status,
               s.status IN ('packed', 'shipped', 'in_transit', 'out_for_delivery',
                            'delivered', 'exception')
               OR NOT EXISTS (
                   SELECT 1 FROM jsonb_array_elements(s.lines) l
                   WHERE coalesce((l->>'picked')::int, 0) < (l->>'quantity')::int
               ) AS all_picked,
               s.status = 'picking' OR EXISTS (
                   SELECT 1 FROM jsonb_array_elements(s.lines) l
                   WHERE coalesce((l->>'picked')::int, 0) > 0
               ) AS started
        FROM shipments s
        WHERE s.order_id = p_order_id AND s.status <> 'cancelled'
    )
    SELECT CASE
        WHEN NOT EXISTS (SELECT 1 FROM live) THEN 'ready_to_pick'
        WHEN bool_and(all_picked) THEN 'packing'
        WHEN bool_or(started) THEN 'picking'
        ELSE 'ready_to_pick'
    END FROM live
$$;
"""

ORDER_TRIGGER = """
CREATE OR REPLACE FUNCTION oms_order_floor_status() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IN ('ready_to_pick', 'picking', 'packing') THEN
        NEW.status := oms_floor_status(NEW.order_id);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER orders_floor_status BEFORE INSERT OR UPDATE OF status ON orders
    FOR EACH ROW EXECUTE FUNCTION oms_order_floor_status();
"""

SHIPMENT_TRIGGER = """
CREATE OR REPLACE FUNCTION oms_shipment_rolls_up() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE orders SET status = oms_floor_status(NEW.order_id), updated_at = NEW.updated_at
    WHERE order_id = NEW.order_id
      AND status IN ('ready_to_pick', 'picking', 'packing')
      AND status IS DISTINCT FROM oms_floor_status(NEW.order_id);
    RETURN NULL;
END $$;
CREATE TRIGGER shipments_roll_up AFTER INSERT OR UPDATE OF status, lines ON shipments
    FOR EACH ROW EXECUTE FUNCTION oms_shipment_rolls_up();
"""


def upgrade() -> None:
    op.add_column(
        "shipments",
        sa.Column(
            "steps_done",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
    )
    op.execute(FLOOR_STATUS_FUNCTION)
    op.execute(ORDER_TRIGGER)
    op.execute(SHIPMENT_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS shipments_roll_up ON shipments")
    op.execute("DROP FUNCTION IF EXISTS oms_shipment_rolls_up()")
    op.execute("DROP TRIGGER IF EXISTS orders_floor_status ON orders")
    op.execute("DROP FUNCTION IF EXISTS oms_order_floor_status()")
    op.execute("DROP FUNCTION IF EXISTS oms_floor_status(text)")
    op.drop_column("shipments", "steps_done")
