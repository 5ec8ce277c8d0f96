"""labels: keep the printable label (PDF, ZPL) and what was printed on it

The label ledger held only the carrier's number and a link to the carrier's copy. It now
holds the label itself, so ``GET /api/v1/shipments/{id}/label`` serves it from Postgres
(no dependency on the carrier's site at print time), and the facts drawn on it: service,
weight, ship-from and ship-to as bought. ``pdf``/``zpl`` stay NULL for labels bought
before (the endpoint answers 404 ``label_not_ready`` for them). An index on
``created_at`` lets the sandbox road (``oms dev``) find newly bought labels by a cursor.

See docs/decisions/0005-labels-and-the-road.md.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 00:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("labels", sa.Column("service_level", sa.String(16), nullable=True))
    op.add_column("labels", sa.Column("weight_grams", sa.Integer(), nullable=True))
    op.add_column("labels", sa.Column("ship_from", postgresql.JSONB(), nullable=True))
    op.add_column("labels", sa.Column("ship_to", postgresql.JSONB(), nullable=True))
    op.add_column("labels", sa.Column("pdf", sa.LargeBinary(), nullable=True))
    op.add_column("labels", sa.Column("zpl", sa.Text(), nullable=True))
    op.create_index("ix_labels_created_at", "labels", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_labels_created_at", table_name="labels")
    for column in ("zpl", "pdf", "ship_to", "ship_from", "weight_grams", "service_level"):
        op.drop_column("labels", column)
