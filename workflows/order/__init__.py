"""The order workflow, one module per concept: ``workflow`` (the Temporal entry points),
``state`` (the order's state), ``steps`` and ``sla`` (template steps and their SLAs),
``journal`` (events, status, the read model), ``holds``, ``payment``, ``allocation``,
``shipments`` (the fulfilment phase), ``edits`` (the channel's changes), ``channel``
(write-back), ``stuck`` (flags for ops) and ``compensation`` (cancelling)."""

from workflows.order.journal import ORDER_STATUS, STUCK, TAGS, WAREHOUSE
from workflows.order.workflow import OrderWorkflow

__all__ = ["ORDER_STATUS", "STUCK", "TAGS", "WAREHOUSE", "OrderWorkflow"]
