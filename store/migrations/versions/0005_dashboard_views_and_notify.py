"""dashboard: sessions, saved views, status counters, search indexes, change notifications

- ``dashboard_sessions``: a signed cookie names a row here, so signing out or revoking the
  key ends the session on every API process (the cookie never carries the key).
- ``saved_views``: named filter sets per key; an admin may share one with everyone.
- ``order_status_counts``: per-status counters kept by a trigger, sharded 16 ways so that
  concurrent writers rarely wait on one counter row; the tabs' counts read ≤ 16 x statuses
  rows instead of counting a million orders.
- ``orders.stream_seq``: a sequence number stamped on every write of an order row; it is
  the SSE event id, and ``Last-Event-ID`` resumes by reading rows past it.
- ``pg_notify('oms_read_model', …)`` after every write of ``orders`` and ``shipments``: the
  read model's own writes fan out to every API process's open streams.
- Indexes for the list at a million orders: keyset per status and per priority, stuck
  orders, tracking numbers, a pg_trgm GIN over the free-text expression and a GIN of the
  lines' SKUs (docs/decisions/0004-dashboard-free-text-search.md).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 19:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Keep identical to ``store.orders.SEARCH_SQL``: the planner uses the index only for the
#: very same expression.
SEARCH_SQL = "lower(order_id || ' ' || name || ' ' || email || ' ' || external_id)"

ORDER_FUNCTIONS = """
CREATE OR REPLACE FUNCTION oms_orders_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.stream_seq := nextval('order_stream_seq');
  RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION oms_orders_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  shard smallint;
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    shard := abs(hashtext(OLD.order_id)) % 16;
    UPDATE order_status_counts SET n = n - 1 WHERE status = OLD.status AND shard_no = shard;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    shard := abs(hashtext(NEW.order_id)) % 16;
    INSERT INTO order_status_counts (status, shard_no, n) VALUES (NEW.status, shard, 1)
      ON CONFLICT (status, shard_no) DO UPDATE SET n = order_status_counts.n + 1;
  END IF;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION oms_orders_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('oms_read_model', json_build_object(
    'kind', 'order',
    'seq', NEW.stream_seq,
    'order_id', NEW.order_id,
    'name', NEW.name,
    'status', NEW.status,
    'old_status', CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END,
    'priority', NEW.priority,
    'stuck', NEW.stuck,
    'warehouses', NEW.warehouses,
    'version', NEW.version,
    'updated_at', NEW.updated_at
  )::text);
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION oms_shipments_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('oms_read_model', json_build_object(
    'kind', 'shipment',
    'shipment_id', NEW.shipment_id,
    'order_id', NEW.order_id,
    'warehouse', NEW.warehouse,
    'old_warehouse', CASE WHEN TG_OP = 'UPDATE' THEN OLD.warehouse END,
    'status', NEW.status,
    'picked', (SELECT coalesce(sum((l->>'picked')::int), 0)
               FROM jsonb_array_elements(NEW.lines) l),
    'quantity', (SELECT coalesce(sum((l->>'quantity')::int), 0)
                 FROM jsonb_array_elements(NEW.lines) l),
    'version', NEW.version,
    'updated_at', NEW.updated_at
  )::text);
  RETURN NULL;
END $$;
"""

TRIGGERS = """
CREATE TRIGGER orders_stamp BEFORE INSERT OR UPDATE ON orders
  FOR EACH ROW EXECUTE FUNCTION oms_orders_stamp();
CREATE TRIGGER orders_count AFTER INSERT OR DELETE OR UPDATE OF status ON orders
  FOR EACH ROW EXECUTE FUNCTION oms_orders_count();
CREATE TRIGGER orders_notify AFTER INSERT OR UPDATE ON orders
  FOR EACH ROW EXECUTE FUNCTION oms_orders_notify();
CREATE TRIGGER shipments_notify AFTER INSERT OR UPDATE ON shipments
  FOR EACH ROW EXECUTE FUNCTION oms_shipments_notify();
"""


def upgrade() -> None:
    op.create_table(
        "dashboard_sessions",
        sa.Column("session_hash", sa.String(64), primary_key=True),
        sa.Column("key_id", sa.String(32), nullable=False, index=True),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "saved_views",
        sa.Column("view_id", sa.String(32), primary_key=True),
        sa.Column("key_id", sa.String(32), nullable=False, index=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("filters", postgresql.JSONB(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_table(
        "order_status_counts",
        sa.Column("status", sa.String(32), primary_key=True),
        sa.Column("shard_no", sa.SmallInteger(), primary_key=True),
        sa.Column("n", sa.BigInteger(), nullable=False),
    )
    op.execute("CREATE SEQUENCE order_stream_seq")
    op.add_column("orders", sa.Column("stream_seq", sa.BigInteger(), nullable=True))
    op.execute("UPDATE orders SET stream_seq = nextval('order_stream_seq')")
    op.execute(
        "INSERT INTO order_status_counts (status, shard_no, n) "
        "SELECT status, abs(hashtext(order_id)) % 16, count(*) FROM orders GROUP BY 1, 2"
    )
    op.create_index("ix_orders_stream_seq", "orders", ["stream_seq"])
    op.create_index("ix_orders_status_keyset", "orders", ["status", "created_at", "order_id"])
    op.create_index("ix_orders_priority_keyset", "orders", ["priority", "created_at", "order_id"])
    op.create_index("ix_orders_stuck", "orders", ["updated_at"], postgresql_where=sa.text("stuck"))
    op.create_index("ix_shipments_tracking_number", "shipments", ["tracking_number"])
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(f"CREATE INDEX ix_orders_search ON orders USING gin (({SEARCH_SQL}) gin_trgm_ops)")
    # A finer sample of the expression: the planner then sees that a rare term matches few
    # rows and takes the index, instead of walking the newest-first index filtering.
    op.execute("ALTER INDEX ix_orders_search ALTER COLUMN 1 SET STATISTICS 1000")
    op.execute(
        "CREATE INDEX ix_orders_line_skus ON orders USING gin ((summary -> 'lines') jsonb_path_ops)"
    )
    op.execute(ORDER_FUNCTIONS)
    op.execute(TRIGGERS)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS shipments_notify ON shipments")
    op.execute("DROP TRIGGER IF EXISTS orders_notify ON orders")
    op.execute("DROP TRIGGER IF EXISTS orders_count ON orders")
    op.execute("DROP TRIGGER IF EXISTS orders_stamp ON orders")
    for fn in ("oms_shipments_notify", "oms_orders_notify", "oms_orders_count", "oms_orders_stamp"):
        op.execute(f"DROP FUNCTION IF EXISTS {fn}()")
    op.execute("DROP INDEX IF EXISTS ix_orders_line_skus")
    op.execute("DROP INDEX IF EXISTS ix_orders_search")
    op.drop_index("ix_shipments_tracking_number", table_name="shipments")
    op.drop_index("ix_orders_stuck", table_name="orders")
    op.drop_index("ix_orders_priority_keyset", table_name="orders")
    op.drop_index("ix_orders_status_keyset", table_name="orders")
    op.drop_index("ix_orders_stream_seq", table_name="orders")
    op.drop_column("orders", "stream_seq")
    op.execute("DROP SEQUENCE IF EXISTS order_stream_seq")
    op.drop_table("order_status_counts")
    op.drop_table("saved_views")
    op.drop_table("dashboard_sessions")
