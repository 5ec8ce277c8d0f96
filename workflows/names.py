"""Names shared by workflows, activities, workers and the API.

Workflows call activities by name so that workflow modules never import I/O code.
"""

TASK_QUEUE = "oms-orders"

# activities
RECORD_ORDER = "record_order"
RECORD_SHIPMENT = "record_shipment"
CAPTURE_PAYMENT = "capture_payment"
REVERSE_PAYMENT = "reverse_payment"
ALLOCATE_STOCK = "allocate_stock"
RELEASE_STOCK = "release_stock"
COMMIT_STOCK = "commit_stock"
BUY_LABEL = "buy_label"
VOID_LABEL = "void_label"
NOTIFY_CUSTOMER = "notify_customer"


def order_workflow_id(order_id: str) -> str:
    return f"order-{order_id}"


def shipment_id_for(order_id: str, n: int) -> str:
    return f"{order_id}-{n}"


def fulfillment_workflow_id(shipment_id: str) -> str:
    return f"ful-{shipment_id}"
