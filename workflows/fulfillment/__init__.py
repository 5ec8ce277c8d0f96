"""One shipment's pick, pack, label, ship and tracking: ``FulfillmentWorkflow`` and the
modules it works through (state, scans, packing, label, tracking, moves, ...)."""

from workflows.fulfillment.workflow import FulfillmentWorkflow

__all__ = ["FulfillmentWorkflow"]
