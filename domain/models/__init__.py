"""Pydantic models passed between the API, workflows and activities.

One model per workflow/activity input and output, so signatures can grow without breaking
histories already recorded (new fields get defaults). Their field names and types are in
committed workflow histories (tests/workflows/histories): change them only by adding fields
with defaults.

The models live in modules by area (``order``: intake; ``views``: what Queries show;
``projection``: read-model rows; ``stock``, ``payments``, ``shipping``, ``notifications``:
activity requests; ``fulfillment``; ``floor``; ``edits``; ``order_control``); every name is
re-exported here, so ``from domain.models import X`` is the one way to import them.
"""

from domain.models.edits import (
    AddressChange,
    AddressChangeResult,
    LineEdit,
    LineItemsRequest,
    LineItemsResult,
    LineRemoval,
    RelocateInput,
)
from domain.models.floor import (
    FloorAnswer,
    LabelRetryInput,
    MoveInput,
    PackagingCheckInput,
    PackInput,
    PackResult,
    RejectInput,
    ScanInput,
    ScanResult,
)
from domain.models.fulfillment import (
    FulfillmentInput,
    FulfillmentResult,
    ShipmentUpdate,
)
from domain.models.notifications import (
    NotifyRequest,
)
from domain.models.order import (
    Address,
    Hold,
    OrderEvent,
    OrderInput,
    OrderLine,
    OrderOptions,
)
from domain.models.order_control import (
    CancelInput,
    CancelResult,
    HoldInput,
    HoldPlaced,
    ReleaseInput,
    TagChange,
)
from domain.models.payments import (
    PaymentRequest,
    PaymentResult,
)
from domain.models.projection import (
    OrderProjection,
    ProjectOrderInput,
    ProjectShipmentInput,
    ShipmentProjection,
)
from domain.models.shipping import (
    LabelRequest,
    LabelResult,
    TrackingEvent,
    VoidLabelRequest,
)
from domain.models.stock import (
    AllocatedShipment,
    AllocationRequest,
    AllocationResult,
    CommitRequest,
    MoveRequest,
    MoveResult,
    RejectRequest,
    ReleaseRequest,
    RerouteRequest,
    RerouteResult,
    ShrinkRequest,
)
from domain.models.views import (
    OrderState,
    RoutingDecision,
    ShipmentLine,
    ShipmentView,
    StepView,
    StuckInfo,
    Tracking,
    duration_text,
)

__all__ = [
    "Address",
    "AddressChange",
    "AddressChangeResult",
    "AllocatedShipment",
    "AllocationRequest",
    "AllocationResult",
    "CancelInput",
    "CancelResult",
    "CommitRequest",
    "FloorAnswer",
    "FulfillmentInput",
    "FulfillmentResult",
    "Hold",
    "HoldInput",
    "HoldPlaced",
    "LabelRequest",
    "LabelResult",
    "LabelRetryInput",
    "LineEdit",
    "LineItemsRequest",
    "LineItemsResult",
    "LineRemoval",
    "MoveInput",
    "MoveRequest",
    "MoveResult",
    "NotifyRequest",
    "OrderEvent",
    "OrderInput",
    "OrderLine",
    "OrderOptions",
    "OrderProjection",
    "OrderState",
    "PackInput",
    "PackResult",
    "PackagingCheckInput",
    "PaymentRequest",
    "PaymentResult",
    "ProjectOrderInput",
    "ProjectShipmentInput",
    "RejectInput",
    "RejectRequest",
    "ReleaseInput",
    "ReleaseRequest",
    "RelocateInput",
    "RerouteRequest",
    "RerouteResult",
    "RoutingDecision",
    "ScanInput",
    "ScanResult",
    "ShipmentLine",
    "ShipmentProjection",
    "ShipmentUpdate",
    "ShipmentView",
    "ShrinkRequest",
    "StepView",
    "StuckInfo",
    "TagChange",
    "Tracking",
    "TrackingEvent",
    "VoidLabelRequest",
    "duration_text",
]
