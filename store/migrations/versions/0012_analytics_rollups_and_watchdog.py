"""analytics: step times and shipment outcomes kept by triggers, pack refusals, the
watchdog's stuck marks, and the indexes the analytics reads need

- ``pack_refusals``: every refused ``POST .../pack`` (``weight_mismatch``,
  ``items_missing``, ...). A refused Update writes nothing to the workflow's history, so
  without this row the refusal would be lost to analytics.
- ``order_step_times``: one row per (order, template step) once the step has completed,
  with its start, completion, SLA and breach, the order's first warehouse, template, SKUs
  and carrier. Written by a trigger on ``orders`` from the projection's
  ``summary->'steps'`` (only when the steps changed), plus the ``deliver`` step from a
  trigger on ``shipments`` when a shipment becomes ``delivered``. The delays endpoint reads
  it instead of parsing millions of order summaries.
- ``shipment_outcomes``: one row per shipment that shipped, with the refused scans and
  weight mismatches it had when it shipped: fulfillment accuracy is a count over it.
- ``watchdog_marks``: orders the stuck-order watchdog (a Temporal Schedule) found stuck
  for a reason an SLA timer cannot see; kept apart from ``orders`` (whose rows only their
  workflow writes, versioned) and cleared when the order moves.
- indexes: ``scan_events (created_at)`` covering the analytics columns (index-only scans
  for accuracy and errors in a time window) and ``order_events (at)`` for the four
  throughput event types.

See docs/decisions/0010-analytics-reads-and-the-stuck-watchdog.md.

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-03 03:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTIONS = """
CREATE OR REPLACE FUNCTION oms_template_of(summary jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(nullif(array_to_string(ARRAY(
        SELECT jsonb_array_elements_text(
            CASE WHEN jsonb_typeof(summary->'template') = 'array'
                 THEN summary->'template' ELSE '[]'::jsonb END)), '+'), ''), 'default')
$$;

CREATE OR REPLACE FUNCTION oms_step_times_from_order() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.summary->'steps' IS NOT DISTINCT FROM OLD.summary->'steps' THEN
        RETURN NULL;
    END IF;
    INSERT INTO order_step_times AS t (order_id, step, started_at, completed_at, sla_seconds,
                                       breached, warehouse, template, skus, carrier)
    SELECT NEW.order_id, s->>'step', (s->>'started_at')::timestamptz,
           (s->>'completed_at')::timestamptz, (s->>'sla_seconds')::int,
           coalesce((s->>'breached')::boolean, false), NEW.warehouses->>0,
           oms_template_of(NEW.summary),
           ARRAY(SELECT DISTINCT l->>'sku' FROM jsonb_array_elements(
                 coalesce(NEW.summary->'lines', '[]'::jsonb)) l),
           (SELECT min(carrier) FROM shipments WHERE order_id = NEW.order_id)
    FROM jsonb_array_elements(coalesce(NEW.summary->'steps', '[]'::jsonb)) s
    WHERE s->>'completed_at' IS NOT NULL AND s->>'started_at' IS NOT NULL
    ON CONFLICT (order_id, step) DO UPDATE SET
        started_at = excluded.started_at, completed_at = excluded.completed_at,
        sla_seconds = excluded.sla_seconds, breached = excluded.breached,
        warehouse = excluded.warehouse, template = excluded.template,
        skus = excluded.skus, carrier = coalesce(excluded.carrier, t.carrier)
    WHERE (t.completed_at, t.breached, t.warehouse, t.carrier)
          IS DISTINCT FROM (excluded.completed_at, excluded.breached, excluded.warehouse,
                            coalesce(excluded.carrier, t.carrier));
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION oms_outcomes_from_shipment() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    tmpl text;
BEGIN
    SELECT oms_template_of(summary) INTO tmpl FROM orders WHERE order_id = NEW.order_id;
    IF NEW.status = 'delivered' THEN
        INSERT INTO order_step_times AS t (order_id, step, started_at, completed_at, sla_seconds,
                                           breached, warehouse, template, skus, carrier)
        VALUES (NEW.order_id, 'deliver',
                coalesce((NEW.steps_done->>'ship')::timestamptz, NEW.updated_at),
                NEW.updated_at, NULL, false, NEW.warehouse, coalesce(tmpl, 'default'),
                ARRAY(SELECT DISTINCT l->>'sku' FROM jsonb_array_elements(NEW.lines) l),
                NEW.carrier)
        ON CONFLICT (order_id, step) DO UPDATE SET
            started_at = excluded.started_at, completed_at = excluded.completed_at,
            warehouse = excluded.warehouse, carrier = excluded.carrier
        WHERE t.completed_at < excluded.completed_at;
    END IF;
    INSERT INTO shipment_outcomes (shipment_id, order_id, warehouse, template, skus, carrier,
                                   shipped_at, refused_scans, weight_mismatches)
    VALUES (NEW.shipment_id, NEW.order_id, NEW.warehouse, coalesce(tmpl, 'default'),
            ARRAY(SELECT DISTINCT l->>'sku' FROM jsonb_array_elements(NEW.lines) l),
            NEW.carrier,
            coalesce((NEW.steps_done->>'ship')::timestamptz, NEW.updated_at),
            (SELECT count(*) FROM scan_events
              WHERE shipment_id = NEW.shipment_id AND NOT accepted),
            (SELECT count(*) FROM pack_refusals
              WHERE shipment_id = NEW.shipment_id AND reason = 'weight_mismatch'))
    ON CONFLICT (shipment_id) DO NOTHING;
    RETURN NULL;
END $$;
"""

SHIPPED = "('shipped', 'in_transit', 'out_for_delivery', 'delivered')"

#: ``WHEN`` clauses keep the functions from being called for the writes that change
#: nothing they keep (most shipment writes are floor moves).
TRIGGERS = f"""
CREATE TRIGGER orders_step_times AFTER INSERT OR UPDATE OF summary ON orders
    FOR EACH ROW EXECUTE FUNCTION oms_step_times_from_order();
CREATE TRIGGER shipments_outcome_created AFTER INSERT ON shipments
    FOR EACH ROW WHEN (NEW.status IN {SHIPPED})
    EXECUTE FUNCTION oms_outcomes_from_shipment();
CREATE TRIGGER shipments_outcome_status AFTER UPDATE OF status ON shipments
    FOR EACH ROW WHEN (NEW.status IN {SHIPPED} AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION oms_outcomes_from_shipment();
"""


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "pack_refusals",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("shipment_id", sa.String(100), nullable=False),
        sa.Column("order_id", sa.String(80), nullable=True),
        sa.Column("warehouse", sa.String(32), nullable=False),
        sa.Column("station", sa.String(64), nullable=True),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("weight_grams", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    )
    op.create_index("ix_pack_refusals_created", "pack_refusals", ["created_at"])
    op.create_index("ix_pack_refusals_shipment", "pack_refusals", ["shipment_id"])
    op.create_table(
        "order_step_times",
        sa.Column("order_id", sa.String(80), primary_key=True),
        sa.Column("step", sa.String(32), primary_key=True),
        _ts("started_at"),
        _ts("completed_at"),
        sa.Column("sla_seconds", sa.Integer(), nullable=True),
        sa.Column("breached", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("warehouse", sa.String(32), nullable=True),
        sa.Column("template", sa.Text(), nullable=False, server_default="default"),
        sa.Column("skus", postgresql.ARRAY(sa.Text()), nullable=False, server_default="{}"),
        sa.Column("carrier", sa.String(32), nullable=True),
    )
    op.create_index(
        "ix_order_step_times_completed",
        "order_step_times",
        ["completed_at"],
        postgresql_include=["step", "started_at", "breached", "warehouse", "template", "carrier"],
    )
    op.create_table(
        "shipment_outcomes",
        sa.Column("shipment_id", sa.String(100), primary_key=True),
        sa.Column("order_id", sa.String(80), nullable=False),
        sa.Column("warehouse", sa.String(32), nullable=False),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("skus", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("carrier", sa.String(32), nullable=True),
        _ts("shipped_at"),
        sa.Column("refused_scans", sa.Integer(), nullable=False),
        sa.Column("weight_mismatches", sa.Integer(), nullable=False),
    )
    op.create_index(
        "ix_shipment_outcomes_shipped",
        "shipment_outcomes",
        ["shipped_at"],
        postgresql_include=["warehouse", "template", "refused_scans", "weight_mismatches"],
    )
    op.create_table(
        "watchdog_marks",
        sa.Column("order_id", sa.String(80), primary_key=True),
        sa.Column("workflow_id", sa.String(120), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        _ts("since"),
        _ts("checked_at"),
    )
    op.create_index(
        "ix_scan_events_created",
        "scan_events",
        ["created_at"],
        postgresql_include=["warehouse", "station", "sku", "accepted", "reason"],
    )
    op.create_index(
        "ix_order_events_throughput",
        "order_events",
        ["at"],
        postgresql_include=["type"],
        postgresql_where=sa.text(
            "type IN ('received', 'shipped', 'tracking_delivered', 'cancelled')"
        ),
    )
    op.execute(FUNCTIONS)
    op.execute(TRIGGERS)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS shipments_outcome_status ON shipments")
    op.execute("DROP TRIGGER IF EXISTS shipments_outcome_created ON shipments")
    op.execute("DROP TRIGGER IF EXISTS orders_step_times ON orders")
    op.execute("DROP FUNCTION IF EXISTS oms_outcomes_from_shipment()")
    op.execute("DROP FUNCTION IF EXISTS oms_step_times_from_order()")
    op.execute("DROP FUNCTION IF EXISTS oms_template_of(jsonb)")
    op.drop_index("ix_order_events_throughput", table_name="order_events")
    op.drop_index("ix_scan_events_created", table_name="scan_events")
    op.drop_table("watchdog_marks")
    op.drop_table("shipment_outcomes")
    op.drop_table("order_step_times")
    op.drop_table("pack_refusals")
