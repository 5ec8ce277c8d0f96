"""channel write-back ledger and the sandbox Shopify store's orders

- ``channel_writebacks``: one row per write a workflow asked of a sales channel
  (fulfillment, fulfillment event, hold, release, cancel), by the workflow's key; ``done``
  rows answer retries, ``failed`` rows are the channel's refusals for ops.
- ``sandbox_shopify_orders``: what the sandbox Shopify store knows of each order (its
  fulfillment orders, holds, fulfillments, events, cancellation) as one JSON document.

See docs/decisions/0009-shopify-write-back.md.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channel_writebacks",
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("order_id", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("remote_id", sa.String(200)),
        sa.Column("existing", sa.Boolean, server_default=sa.text("false"), nullable=False),
        sa.Column("request", postgresql.JSONB, nullable=False),
        sa.Column("detail", sa.Text),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_index("ix_channel_writebacks_order_id", "channel_writebacks", ["order_id"])
    op.create_table(
        "sandbox_shopify_orders",
        sa.Column("shop", sa.String(32), primary_key=True),
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("doc", postgresql.JSONB, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )


def downgrade() -> None:
    op.drop_table("sandbox_shopify_orders")
    op.drop_index("ix_channel_writebacks_order_id", table_name="channel_writebacks")
    op.drop_table("channel_writebacks")
