"""customer emails: the notifications ledger becomes an outbox; tracking tokens; dev mailbox

- ``notifications`` (one row per (order, shipment, milestone), the idempotency key) gains
  what a sender needs: ``shipment_id``, ``detail``, ``status`` (pending | sent | failed),
  ``attempts``, ``next_attempt_at``, ``last_error``, ``message_id``, ``recorded_at``.
  ``sent_at`` is NULL until the mail server accepted the message. Rows written before this
  revision were "sent" as a log line: they become ``sent`` and are never mailed.
- ``tracking_tokens``: the unguessable token of an order's customer tracking page.
- ``dev_mailbox``: what the ``oms dev`` SMTP sink caught, one row per Message-ID.

See docs/decisions/0006-customer-emails-outbox.md.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _now() -> sa.TextClause:
    return sa.text("now()")


def upgrade() -> None:
    op.add_column("notifications", sa.Column("shipment_id", sa.String(100), nullable=True))
    op.add_column(
        "notifications",
        sa.Column(
            "detail", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
    )
    # Existing rows were delivered as a log line: 'sent'. New rows start 'pending'.
    op.add_column(
        "notifications",
        sa.Column("status", sa.String(16), server_default="sent", nullable=False),
    )
    op.alter_column("notifications", "status", server_default="pending")
    op.create_check_constraint(
        "ck_notifications_status", "notifications", "status IN ('pending', 'sent', 'failed')"
    )
    op.add_column(
        "notifications",
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column(
        "notifications",
        sa.Column(
            "next_attempt_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False
        ),
    )
    op.add_column("notifications", sa.Column("last_error", sa.Text(), nullable=True))
    op.add_column("notifications", sa.Column("message_id", sa.String(250), nullable=True))
    op.add_column(
        "notifications",
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
    )
    op.execute("UPDATE notifications SET recorded_at = sent_at")
    op.alter_column("notifications", "sent_at", nullable=True, server_default=None)
    # The sender's claim: due pending rows, oldest due first.
    op.create_index(
        "ix_notifications_due",
        "notifications",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )

    op.create_table(
        "tracking_tokens",
        sa.Column("order_id", sa.String(80), primary_key=True),
        sa.Column("token", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
    )

    op.create_table(
        "dev_mailbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("message_id", sa.String(250), nullable=False, unique=True),
        sa.Column("mail_from", sa.Text(), nullable=False),
        sa.Column("rcpt_to", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("milestone", sa.String(32), nullable=True),
        sa.Column("order_id", sa.String(80), nullable=True),
        sa.Column("shipment_id", sa.String(100), nullable=True),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("copies", sa.Integer(), server_default="1", nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dev_mailbox")
    op.drop_table("tracking_tokens")
    op.drop_index("ix_notifications_due", table_name="notifications")
    op.execute("UPDATE notifications SET sent_at = coalesce(sent_at, recorded_at)")
    op.alter_column("notifications", "sent_at", nullable=False, server_default=_now())
    op.drop_constraint("ck_notifications_status", "notifications", type_="check")
    for column in (
        "recorded_at",
        "message_id",
        "last_error",
        "next_attempt_at",
        "attempts",
        "status",
        "detail",
        "shipment_id",
    ):
        op.drop_column("notifications", column)
