"""the label follows the pack; tracking events deduplicated and ordered; stuck shipments

- ``shipments.label_status`` (pending / ready / voided), ``label_attempts`` and
  ``label_error`` (written by the label activity when the carrier fails, so the pack
  answer, the work list and ops see "the carrier is retrying" at once) and the shipment's
  own stuck mark (``stuck_reason``, ``stuck_detail``, ``stuck_since``):
  docs/decisions/0008-the-label-follows-the-pack.md.
- ``carrier_events`` gain ``event_id`` and ``location``; a repeated event is refused by
  ``(carrier, event_id)`` or, without an id, by ``(tracking_number, status, occurred_at)``;
  ``signalled_at`` says the shipment's workflow has heard it (a webhook retried after a
  crash between storing and signalling signals again).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("shipments", sa.Column("label_status", sa.String(16)))
    op.add_column(
        "shipments",
        sa.Column("label_attempts", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column("shipments", sa.Column("label_error", sa.Text()))
    op.add_column("shipments", sa.Column("stuck_reason", sa.String(32)))
    op.add_column("shipments", sa.Column("stuck_detail", sa.Text()))
    op.add_column("shipments", sa.Column("stuck_since", sa.DateTime(timezone=True)))
    op.execute("UPDATE shipments SET label_status = 'ready' WHERE tracking_number IS NOT NULL")
    op.create_index(
        "ix_shipments_stuck",
        "shipments",
        ["stuck_since"],
        postgresql_where="stuck_reason IS NOT NULL",
    )

    op.add_column("carrier_events", sa.Column("event_id", sa.String(128)))
    op.add_column("carrier_events", sa.Column("location", sa.Text()))
    op.add_column("carrier_events", sa.Column("signalled_at", sa.DateTime(timezone=True)))
    # Earlier rows were never deduplicated: keep the first of each before the index.
    op.execute(
        "DELETE FROM carrier_events a USING carrier_events b WHERE a.id > b.id"
        " AND a.tracking_number = b.tracking_number AND a.status = b.status"
        " AND a.occurred_at = b.occurred_at"
    )
    op.execute("UPDATE carrier_events SET signalled_at = received_at")
    op.create_index(
        "uq_carrier_event_id",
        "carrier_events",
        ["carrier", "event_id"],
        unique=True,
        postgresql_where="event_id IS NOT NULL",
    )
    op.create_index(
        "uq_carrier_event_natural",
        "carrier_events",
        ["tracking_number", "status", "occurred_at"],
        unique=True,
        postgresql_where="event_id IS NULL",
    )


def downgrade() -> None:
    op.drop_index("uq_carrier_event_natural", table_name="carrier_events")
    op.drop_index("uq_carrier_event_id", table_name="carrier_events")
    for column in ("signalled_at", "location", "event_id"):
        op.drop_column("carrier_events", column)
    op.drop_index("ix_shipments_stuck", table_name="shipments")
    for column in (
        "stuck_since",
        "stuck_detail",
        "stuck_reason",
        "label_error",
        "label_attempts",
        "label_status",
    ):
        op.drop_column("shipments", column)
