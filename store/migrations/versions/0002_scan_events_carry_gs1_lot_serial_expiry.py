"""scan events carry the stage (pick / pack re-scan) and GS1 lot, serial, expiry

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 11:38:06.599892
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "scan_events",
        sa.Column("stage", sa.String(length=8), server_default="pick", nullable=False),
    )
    op.add_column("scan_events", sa.Column("lot", sa.String(length=20), nullable=True))
    op.add_column("scan_events", sa.Column("serial", sa.String(length=20), nullable=True))
    op.add_column("scan_events", sa.Column("expiry", sa.Date(), nullable=True))
    op.create_index(
        "ix_scan_events_serial",
        "scan_events",
        ["sku", "serial"],
        unique=False,
        postgresql_where=sa.text("accepted AND serial IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_scan_events_serial",
        table_name="scan_events",
        postgresql_where=sa.text("accepted AND serial IS NOT NULL"),
    )
    op.drop_column("scan_events", "expiry")
    op.drop_column("scan_events", "serial")
    op.drop_column("scan_events", "lot")
    op.drop_column("scan_events", "stage")
