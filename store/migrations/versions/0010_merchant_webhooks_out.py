"""merchant webhooks out: subscriptions, an events outbox filled by triggers, deliveries

- ``webhook_subscriptions``: a merchant's URL, topics and signing secret.
- ``webhook_events`` + ``webhook_deliveries``: written by triggers on ``orders`` and
  ``shipments`` in the transaction of the read-model write (so an event exists exactly
  when the change people see committed), one delivery row per subscription that wants the
  topic. With no such subscription the trigger does one lookup of a tiny table and
  inserts nothing.
- ``webhook_delivery_totals``: finished deliveries per outcome, for the Prometheus counters.

Topics: ``orders`` INSERT → ``order.created``; ``orders`` status changed →
``order.status_changed``; ``shipments`` inserted or changed into ``shipped`` /
``delivered`` / ``exception`` → ``shipment.<status>``. ``occurred_at`` is the row's
``updated_at``. The triggers are AFTER ROW triggers beside the existing ones (0005's counts
and NOTIFY, 0006's floor roll-up): they only read NEW/OLD and write their own tables, so
they change nothing the others see. See docs/decisions/0007-merchant-webhooks-outbox-drain.md.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 23:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTIONS = """
CREATE OR REPLACE FUNCTION oms_webhook_emit(p_topic text, p_at timestamptz, p_data jsonb)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    ev uuid;
BEGIN
    -- The common case (nobody subscribed to this topic) costs one lookup, no writes.
    IF NOT EXISTS (SELECT 1 FROM webhook_subscriptions
                   WHERE active AND p_topic = ANY (topics)) THEN
        RETURN;
    END IF;
    ev := gen_random_uuid();
    INSERT INTO webhook_events (event_id, topic, occurred_at, data)
        VALUES (ev, p_topic, coalesce(p_at, now()), p_data);
    INSERT INTO webhook_deliveries (webhook_id, event_id, topic)
        SELECT webhook_id, ev, p_topic FROM webhook_subscriptions
        WHERE active AND p_topic = ANY (topics)
        ORDER BY webhook_id;
END $$;

CREATE OR REPLACE FUNCTION oms_orders_webhook() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM oms_webhook_emit('order.created', NEW.updated_at, jsonb_build_object(
            'order_id', NEW.order_id,
            'name', NEW.name,
            'channel', NEW.channel,
            'external_id', NEW.external_id,
            'status', NEW.status,
            'total', NEW.total::text,
            'currency', NEW.currency,
            'tags', NEW.tags,
            'created_at', NEW.created_at));
    ELSE
        PERFORM oms_webhook_emit('order.status_changed', NEW.updated_at, jsonb_build_object(
            'order_id', NEW.order_id,
            'name', NEW.name,
            'status', NEW.status,
            'previous_status', OLD.status));
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION oms_shipments_webhook() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    doc jsonb;
BEGIN
    doc := jsonb_build_object(
        'shipment_id', NEW.shipment_id,
        'order_id', NEW.order_id,
        'warehouse', NEW.warehouse,
        'status', NEW.status);
    IF NEW.tracking_number IS NOT NULL THEN
        doc := doc || jsonb_build_object('tracking', jsonb_build_object(
            'carrier', NEW.carrier,
            'number', NEW.tracking_number,
            'url', NEW.tracking_url));
    END IF;
    PERFORM oms_webhook_emit('shipment.' || NEW.status, NEW.updated_at, doc);
    RETURN NULL;
END $$;
"""

#: ``WHEN`` clauses keep the function from even being called for the writes that are not
#: events (most order writes change something else than the status).
TRIGGERS = """
CREATE TRIGGER orders_webhook_created AFTER INSERT ON orders
    FOR EACH ROW EXECUTE FUNCTION oms_orders_webhook();
CREATE TRIGGER orders_webhook_status AFTER UPDATE OF status ON orders
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION oms_orders_webhook();
CREATE TRIGGER shipments_webhook_created AFTER INSERT ON shipments
    FOR EACH ROW WHEN (NEW.status IN ('shipped', 'delivered', 'exception'))
    EXECUTE FUNCTION oms_shipments_webhook();
CREATE TRIGGER shipments_webhook_status AFTER UPDATE OF status ON shipments
    FOR EACH ROW WHEN (NEW.status IN ('shipped', 'delivered', 'exception')
                       AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION oms_shipments_webhook();
"""


def upgrade() -> None:
    op.create_table(
        "webhook_subscriptions",
        sa.Column("webhook_id", sa.String(40), primary_key=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("topics", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("secret", sa.String(80), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "webhook_events",
        sa.Column("event_id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("topic", sa.String(40), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", postgresql.JSONB(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("delivery_id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column(
            "webhook_id",
            sa.String(40),
            sa.ForeignKey("webhook_subscriptions.webhook_id"),
            nullable=False,
        ),
        sa.Column(
            "event_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("webhook_events.event_id"),
            nullable=False,
        ),
        sa.Column("topic", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("redelivery_of", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'failed')", name="ck_webhook_delivery_status"
        ),
    )
    op.create_index(
        "ix_webhook_deliveries_list", "webhook_deliveries", ["webhook_id", "delivery_id"]
    )
    op.create_index(
        "ix_webhook_deliveries_pending",
        "webhook_deliveries",
        ["webhook_id", "delivery_id"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index("ix_webhook_deliveries_event_id", "webhook_deliveries", ["event_id"])
    op.create_table(
        "webhook_delivery_totals",
        sa.Column("outcome", sa.String(16), primary_key=True),
        sa.Column("n", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.execute(FUNCTIONS)
    op.execute(TRIGGERS)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS shipments_webhook_status ON shipments")
    op.execute("DROP TRIGGER IF EXISTS shipments_webhook_created ON shipments")
    op.execute("DROP TRIGGER IF EXISTS orders_webhook_status ON orders")
    op.execute("DROP TRIGGER IF EXISTS orders_webhook_created ON orders")
    op.execute("DROP FUNCTION IF EXISTS oms_shipments_webhook()")
    op.execute("DROP FUNCTION IF EXISTS oms_orders_webhook()")
    op.execute("DROP FUNCTION IF EXISTS oms_webhook_emit(text, timestamptz, jsonb)")
    op.drop_table("webhook_delivery_totals")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_events")
    op.drop_table("webhook_subscriptions")
