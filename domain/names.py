"""Names shared by workflows, activities, workers, the API and the store.

The task queue, activity names and workflow ids. They live in ``domain`` so that the store
and the API need not import ``workflows`` to name a workflow.

Workflows call activities by name so that workflow modules never import I/O code.
"""

TASK_QUEUE = "oms-orders"

# activities
RECORD_ORDER = "record_order"
RECORD_SHIPMENT = "record_shipment"
READ_FLOOR = "read_floor"
CAPTURE_PAYMENT = "capture_payment"
REVERSE_PAYMENT = "reverse_payment"
ALLOCATE_STOCK = "allocate_stock"
RELEASE_STOCK = "release_stock"
COMMIT_STOCK = "commit_stock"
MOVE_SHIPMENT = "move_shipment"
REJECT_SHIPMENT = "reject_shipment"
BUY_LABEL = "buy_label"
VOID_LABEL = "void_label"
NOTIFY_CUSTOMER = "notify_customer"
REROUTE_SHIPMENT = "reroute_shipment"  # a new address before picking (generation 10)
WRITE_BACK = "write_back"  # to the order's sales channel (Shopify), docs/decisions/0009
SHRINK_SHIPMENT = "shrink_shipment"  # a channel edit removed units before pick (gen. 10)
READ_LINE_ITEMS = "read_line_items"  # which SKU a channel line item is (gen. 10)


def order_workflow_id(order_id: str) -> str:
    return f"order-{order_id}"


def shipment_id_for(order_id: str, n: int) -> str:
    return f"{order_id}-{n}"


def fulfillment_workflow_id(shipment_id: str) -> str:
    return f"ful-{shipment_id}"


# channel sync and the low-stock watch (workflows/channel_sync.py)
READ_CHANNEL_BATCH = "read_channel_batch"
PUSH_CHANNEL_BATCH = "push_channel_batch"
CHECK_LOW_STOCK = "check_low_stock"
LOW_STOCK_WATCH_WORKFLOW_ID = "low-stock-watch"
PRUNE_OUTBOX = "prune_outbox"
OUTBOX_PRUNE_SCHEDULE_ID = "outbox-prune"
OUTBOX_PRUNE_WORKFLOW_ID = "outbox-prune"


def channel_sync_workflow_id(channel: str) -> str:
    return f"channel-sync-{channel}"


# the stuck-order watchdog (workflows/watchdog.py), run by a Schedule
SWEEP_STUCK_ORDERS = "sweep_stuck_orders"
STUCK_WATCHDOG_SCHEDULE_ID = "stuck-watchdog"
STUCK_WATCHDOG_WORKFLOW_ID = "stuck-watchdog"
