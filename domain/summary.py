"""What the read model keeps of an order for when its workflow cannot be asked.

``orders.summary`` (JSONB) is written by ``OrderWorkflow`` with every projection and read by
the order detail, the order page, the ops views, the tracking page and the watchdog when
the workflow cannot answer a Query (closed and no worker, or Temporal down). Rows outlive
the code that wrote them, so :class:`OrderSummary` reads every shape ever stored: the
first projections kept only ``{"holds": <count>, "payment": ...}``; lines, routing and
the cancel reason came next; then steps, the tag rules' version and the stuck reason and
time; then the templates applied. Every field has a default, unknown keys are ignored,
and a value that does not read (an old shape, a garbled item) falls back to its default
rather than failing the page: a read model is a cache, never a reason for a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
)

from domain.models import Hold, OrderLine, RoutingDecision, StepView, StuckInfo


class OrderSummary(BaseModel):
    """``orders.summary``, typed; build it with :meth:`read`."""

    model_config = ConfigDict(extra="ignore")

    payment: str | None = None  # pending | paid | captured | refunded | voided
    holds: list[Hold] = Field(default_factory=list)  # the active holds
    lines: list[OrderLine] = Field(default_factory=list)
    routing: RoutingDecision | None = None
    cancel_reason: str | None = None
    steps: list[StepView] = Field(default_factory=list)
    #: The templates applied (analytics groups step times by it: ``oms_template_of``).
    template: list[str] = Field(default_factory=list)
    tags_version: int | None = None  # the tag rules that tagged the order
    #: ``StuckInfo.describe()``: ``<step or reason>: <what is wrong>``; see :meth:`stuck_step`.
    stuck_reason: str | None = None
    stuck_since: datetime | None = None

    @field_validator("*", mode="wrap")
    @classmethod
    def _tolerant(
        cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> Any:
        """A value that does not read falls back to the field's default; in a list, only
        the items that do not read are dropped."""
        try:
            return handler(value)
        except ValidationError:
            field = cls.model_fields[info.field_name or ""]
            default = field.get_default(call_default_factory=True)
            if isinstance(default, list) and isinstance(value, list):
                item = TypeAdapter(get_args(field.annotation)[0])
                return [read for v in value if (read := _read_one(item, v)) is not None]
            return default

    @classmethod
    def read(cls, raw: Mapping[str, Any] | None) -> OrderSummary:
        """The summary of a row (``None`` or a non-object reads as empty)."""
        return cls.model_validate(dict(raw) if isinstance(raw, Mapping) else {})

    def stuck_step(self) -> str | None:
        """The machine part of :attr:`stuck_reason`: the step past its SLA, or the stuck
        reason (``carrier_unavailable`` ...) of a shipment's trouble. The one place the
        stored ``"<step>: <detail>"`` text is taken apart."""
        step = (self.stuck_reason or "").split(":")[0]
        return step or None

    def stuck_info(self) -> StuckInfo | None:
        """The detail view's ``stuck`` (None without a stuck time): the step and its SLA."""
        if self.stuck_since is None:
            return None
        step = self.stuck_step() or ""
        active = next((v for v in self.steps if v.step == step), None)
        return StuckInfo(
            step=step, since=self.stuck_since, sla_seconds=active.sla_seconds if active else 0
        )


def _read_one(item: TypeAdapter[Any], value: Any) -> Any | None:
    """``value`` read as one item of a list field; None when it does not read."""
    try:
        return item.validate_python(value)
    except ValidationError:
        return None
