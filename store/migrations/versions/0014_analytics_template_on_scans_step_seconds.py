"""analytics: the order's template on its scan rows; step durations and SLA breaches
stored on the step rows; both in the covering indexes the window reads use

- ``scan_events.template``: the order's template (``oms_template_of(summary)``), set by a
  ``BEFORE INSERT`` trigger from the order row in the scan's own transaction, and
  rewritten on the order's scans by a trigger on ``orders`` when the order's template
  changes (or the order row arrives after its scans). Accuracy by template then counts
  the window's scans through ``ix_scan_events_created`` alone: no join to ``orders``.
  Existing rows are backfilled from their orders.
- ``order_step_times.seconds`` and ``.over_sla``: stored generated columns (exactly the
  expressions the delays read computed per row), so the delays read is an index-only scan
  of ``ix_order_step_times_completed`` with no per-row arithmetic and no heap visits.

See docs/decisions/0010-analytics-reads-and-the-stuck-watchdog.md (amended).

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-03 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTIONS = """
CREATE OR REPLACE FUNCTION oms_scan_takes_order_template() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.template := coalesce(
        (SELECT oms_template_of(summary) FROM orders WHERE order_id = NEW.order_id),
        'default');
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION oms_scans_follow_order_template() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    tmpl text := oms_template_of(NEW.summary);
BEGIN
    IF TG_OP = 'UPDATE' AND tmpl IS NOT DISTINCT FROM oms_template_of(OLD.summary) THEN
        RETURN NULL;
    END IF;
    -- Through uq_scan_event (shipment_id, ...): scans have no order_id index of their own.
    UPDATE scan_events SET template = tmpl
     WHERE shipment_id IN (SELECT shipment_id FROM shipments WHERE order_id = NEW.order_id)
       AND order_id = NEW.order_id AND template IS DISTINCT FROM tmpl;
    RETURN NULL;
END $$;
"""

TRIGGERS = """
CREATE TRIGGER scan_events_template BEFORE INSERT ON scan_events
    FOR EACH ROW EXECUTE FUNCTION oms_scan_takes_order_template();
CREATE TRIGGER orders_scan_template AFTER INSERT OR UPDATE OF summary ON orders
    FOR EACH ROW EXECUTE FUNCTION oms_scans_follow_order_template();
"""

SCAN_INCLUDE = ["warehouse", "station", "sku", "accepted", "reason"]
STEP_INCLUDE = ["step", "started_at", "breached", "warehouse", "template", "carrier"]


def upgrade() -> None:
    op.add_column(
        "scan_events",
        sa.Column("template", sa.Text(), nullable=False, server_default="default"),
    )
    op.execute(
        "UPDATE scan_events s SET template = oms_template_of(o.summary) FROM orders o"
        " WHERE o.order_id = s.order_id AND oms_template_of(o.summary) <> 'default'"
    )
    op.add_column(
        "order_step_times",
        sa.Column(
            "seconds",
            sa.Double(),
            sa.Computed(
                "extract(epoch FROM completed_at - started_at)::double precision", persisted=True
            ),
            nullable=False,
        ),
    )
    op.add_column(
        "order_step_times",
        sa.Column(
            "over_sla",
            sa.Boolean(),
            sa.Computed(
                "breached OR (sla_seconds IS NOT NULL"
                " AND completed_at - started_at > sla_seconds * interval '1 second')",
                persisted=True,
            ),
            nullable=False,
        ),
    )
    op.drop_index("ix_scan_events_created", table_name="scan_events")
    op.create_index(
        "ix_scan_events_created",
        "scan_events",
        ["created_at"],
        postgresql_include=[*SCAN_INCLUDE, "template"],
    )
    op.drop_index("ix_order_step_times_completed", table_name="order_step_times")
    op.create_index(
        "ix_order_step_times_completed",
        "order_step_times",
        ["completed_at"],
        postgresql_include=[
            "step",
            "seconds",
            "over_sla",
            "warehouse",
            "template",
            "carrier",
            "skus",
        ],
    )
    op.execute(FUNCTIONS)
    op.execute(TRIGGERS)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS orders_scan_template ON orders")
    op.execute("DROP TRIGGER IF EXISTS scan_events_template ON scan_events")
    op.execute("DROP FUNCTION IF EXISTS oms_scans_follow_order_template()")
    op.execute("DROP FUNCTION IF EXISTS oms_scan_takes_order_template()")
    op.drop_index("ix_order_step_times_completed", table_name="order_step_times")
    op.create_index(
        "ix_order_step_times_completed",
        "order_step_times",
        ["completed_at"],
        postgresql_include=STEP_INCLUDE,
    )
    op.drop_index("ix_scan_events_created", table_name="scan_events")
    op.create_index(
        "ix_scan_events_created", "scan_events", ["created_at"], postgresql_include=SCAN_INCLUDE
    )
    op.drop_column("order_step_times", "over_sla")
    op.drop_column("order_step_times", "seconds")
    op.drop_column("scan_events", "template")
