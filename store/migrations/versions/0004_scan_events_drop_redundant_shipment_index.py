"""scan events: drop the shipment_id index the (shipment_id, scan_id) unique key covers

Every scan inserts a row; each index on the table is one more write on the floor's hot
path. ``uq_scan_event`` leads with ``shipment_id``, so lookups by shipment use it already.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 15:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_scan_events_shipment_id", table_name="scan_events")


def downgrade() -> None:
    op.create_index("ix_scan_events_shipment_id", "scan_events", ["shipment_id"], unique=False)
