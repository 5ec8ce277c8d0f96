"""The database schema as SQLAlchemy 2 declarative models.

Postgres owns the stock truth (levels + reservations), catalog, keys, ledgers that make
outside effects happen once, the read model the dashboard lists from, and append-only logs.
Changes go through Alembic revisions in ``store/migrations``.

The tables live in modules by area (``catalog``, ``stock``, ``channels``, ``access``,
``intake``, ``read_model``, ``ledgers``, ``merchant_webhooks``, ``sandbox``), all on the one
``Base`` of ``base``. Importing this package imports every one of them, which is what puts
every table in ``Base.metadata`` for Alembic; every name is re-exported here.
"""

from store.tables.access import (
    ApiKey,
    DashboardSession,
    SavedView,
)
from store.tables.base import (
    Base,
    now_column,
)
from store.tables.catalog import (
    Product,
    ProductBarcode,
    Warehouse,
    WarehouseDailyLoad,
)
from store.tables.channels import (
    Channel,
    ChannelCursor,
    ChannelPush,
    ChannelWriteback,
    OutboxCursor,
)
from store.tables.intake import (
    OrderIntake,
    RuleSet,
    WebhookReceipt,
)
from store.tables.ledgers import (
    CarrierEvent,
    DevMailboxMessage,
    LabelLedger,
    Notification,
    PaymentLedger,
    TrackingToken,
)
from store.tables.merchant_webhooks import (
    WebhookDelivery,
    WebhookDeliveryTotal,
    WebhookEvent,
    WebhookSubscription,
)
from store.tables.read_model import (
    OrderEventRow,
    OrderRow,
    OrderStatusCount,
    PackRefusalRow,
    ScanEvent,
    ShipmentRow,
    WatchdogMark,
)
from store.tables.sandbox import (
    SandboxChannelReceipt,
    SandboxOperation,
    SandboxShopifyOrder,
)
from store.tables.stock import (
    OUTBOX_TXID_DEFAULT,
    Backorder,
    InventoryAdjustment,
    InventoryLevel,
    InventoryOutbox,
    Reservation,
    StockEvent,
)

__all__ = [
    "ApiKey",
    "Backorder",
    "Base",
    "CarrierEvent",
    "Channel",
    "ChannelCursor",
    "ChannelPush",
    "ChannelWriteback",
    "DashboardSession",
    "DevMailboxMessage",
    "InventoryAdjustment",
    "InventoryLevel",
    "InventoryOutbox",
    "LabelLedger",
    "Notification",
    "OUTBOX_TXID_DEFAULT",
    "OrderEventRow",
    "OrderIntake",
    "OrderRow",
    "OrderStatusCount",
    "OutboxCursor",
    "PackRefusalRow",
    "PaymentLedger",
    "Product",
    "ProductBarcode",
    "Reservation",
    "RuleSet",
    "SandboxChannelReceipt",
    "SandboxOperation",
    "SandboxShopifyOrder",
    "SavedView",
    "ScanEvent",
    "ShipmentRow",
    "StockEvent",
    "TrackingToken",
    "Warehouse",
    "WarehouseDailyLoad",
    "WatchdogMark",
    "WebhookDelivery",
    "WebhookDeliveryTotal",
    "WebhookEvent",
    "WebhookReceipt",
    "WebhookSubscription",
    "now_column",
]
