"""What ops do to orders from the dashboard, one order at a time, with an audit line each.

Pages, the bulk endpoint and the order page all come through here, so a refusal reads the
same everywhere and every attempt leaves an ``ops_action`` event naming the key that made
it (its name and id, its role) on the order's timeline, beside the workflow's own events.
Each function returns an :class:`ActionResult` instead of raising: a bulk run of 500
orders goes on past a refusal.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowQueryFailedError

from api.problems import Problem
from api.temporal import TRANSIENT
from api.updates import Refused, run_update
from domain import names
from domain.codes import ProblemCode, UpdateRefusal
from domain.models import CancelInput, MoveInput, OrderState, ReleaseInput, TagChange
from domain.status import SHIPPED_OR_LATER
from store import catalog
from store import orders as read
from store.keys import Principal
from store.projection import write_shipment
from store.tables import OrderEventRow
from workflows.fulfillment import FulfillmentWorkflow
from workflows.order import OrderWorkflow

T = TypeVar("T")

OPS_ROLES = frozenset({"admin", "ops"})


@dataclass
class ActionResult:
    order_id: str
    ok: bool
    status: str | None = None
    reason: str | None = None
    detail: str | None = None


def _unreachable(_: BaseException) -> Refused:
    return Refused(ProblemCode.UNAVAILABLE, "Temporal cannot be reached; try again")


async def _update(call: Awaitable[T]) -> T | None:
    """An Update's result; None when the workflow has finished. Refusals, and Temporal out
    of reach, → :class:`Refused` (a bulk run goes on)."""
    return await run_update(call, unreachable=_unreachable)


async def live_state(
    client: Client, order_id: str, *, rpc_timeout: timedelta | None = None
) -> OrderState | None:
    """The order as its workflow sees it; None when it cannot answer (closed and no
    worker, Temporal down): the caller reads the projection instead."""
    handle = client.get_workflow_handle(names.order_workflow_id(order_id))
    try:
        return await handle.query(OrderWorkflow.details, rpc_timeout=rpc_timeout)
    except (WorkflowQueryFailedError, *TRANSIENT):
        return None


def record(
    session: AsyncSession,
    who: Principal,
    order_id: str,
    action: str,
    *,
    ok: bool = True,
    reason: str | None = None,
    **extra: Any,
) -> None:
    """Add an ``ops_action`` line to the order's timeline (the caller commits): the
    workflow's own events say what happened, this says which key did it."""
    detail: dict[str, Any] = {
        "action": action,
        "by": who.name or who.key_id,
        "key_id": who.key_id,
        "role": who.role,
        "ok": ok,
        **{k: v for k, v in extra.items() if v is not None},
    }
    if reason:
        detail["reason"] = reason
    session.add(
        OrderEventRow(
            order_id=order_id,
            event_key=f"action-{uuid.uuid4().hex}",
            at=datetime.now(UTC),
            type="ops_action",
            detail=detail,
        )
    )


class Actions:
    """The dashboard's actions for one caller."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], client: Client, who: Principal
    ) -> None:
        self.sessions = sessions
        self.client = client
        self.who = who

    def _order(self, order_id: str) -> Any:
        return self.client.get_workflow_handle(names.order_workflow_id(order_id))

    async def _audit(self, order_id: str, action: str, result: ActionResult, **extra: Any) -> None:
        async with self.sessions.begin() as session:
            record(session, self.who, order_id, action, ok=result.ok, reason=result.reason, **extra)

    async def _closed(self, order_id: str, verb: str) -> Refused:
        async with self.sessions() as session:
            row = await read.get_order(session, order_id)
        if row is None:
            return Refused(ProblemCode.NOT_FOUND, f"no order {order_id}")
        if verb == "cancel" and row.status in SHIPPED_OR_LATER:
            return Refused(UpdateRefusal.ALREADY_SHIPPED, f"the order is {row.status}")
        return Refused(ProblemCode.ORDER_CLOSED, f"an order that is {row.status} is closed")

    async def _run(
        self, order_id: str, action: str, body: Awaitable[str | None], **audit: Any
    ) -> ActionResult:
        try:
            status = await body
            result = ActionResult(order_id, True, status=status)
        except Refused as exc:
            result = ActionResult(order_id, False, reason=exc.reason, detail=exc.detail)
        if result.reason != ProblemCode.NOT_FOUND:
            await self._audit(order_id, action, result, **audit)
        return result

    def _require_ops(self) -> None:
        if self.who.role not in OPS_ROLES:
            raise Refused(ProblemCode.FORBIDDEN, f"role {self.who.role} may not do this")

    async def _in_scope(self, order_id: str) -> None:
        if self.who.role != "staff":
            return
        async with self.sessions() as session:
            row = await read.get_order(session, order_id)
        if row is None:
            raise Refused(ProblemCode.NOT_FOUND, f"no order {order_id}")
        if self.who.warehouse not in (row.warehouses or []):
            raise Refused(ProblemCode.FORBIDDEN, "this order does not ship from your warehouse")

    # --- the actions ------------------------------------------------------------------

    async def release_holds(self, order_id: str, hold_id: str | None = None) -> ActionResult:
        """Release one hold, or every active hold of the order."""

        async def body() -> str | None:
            self._require_ops()
            state = await live_state(self.client, order_id)
            if state is None:
                raise await self._closed(order_id, "release")
            holds = [h.hold_id for h in state.holds if hold_id in (None, h.hold_id)]
            if not holds:
                raise Refused(
                    ProblemCode.NO_HOLD,
                    "the order has no active hold"
                    if hold_id is None
                    else f"no active hold {hold_id}",
                )
            status: str | None = state.status
            for hid in holds:
                after = await _update(
                    self._order(order_id).execute_update(
                        OrderWorkflow.release_hold, ReleaseInput(hold_id=hid), id=f"release-{hid}"
                    )
                )
                if after is None:
                    raise await self._closed(order_id, "release")
                status = after.status
            return status

        return await self._run(order_id, "release_hold", body(), hold_id=hold_id)

    async def cancel(self, order_id: str, reason: str) -> ActionResult:
        async def body() -> str | None:
            self._require_ops()
            done = await _update(
                self._order(order_id).execute_update(
                    OrderWorkflow.cancel, CancelInput(reason=reason)
                )
            )
            if done is None:
                refused = await self._closed(order_id, "cancel")
                if "cancelled" in refused.detail:
                    return "cancelled"
                raise refused
            return done.status

        return await self._run(order_id, "cancel", body(), cancel_reason=reason)

    async def change_tag(self, order_id: str, tag: str, *, add: bool) -> ActionResult:
        async def body() -> str | None:
            await self._in_scope(order_id)
            change = TagChange(
                add=[tag] if add else [], remove=[] if add else [tag], actor=self.who.key_id
            )
            state = await _update(
                self._order(order_id).execute_update(OrderWorkflow.change_tags, change)
            )
            if state is None:
                raise await self._closed(order_id, "tag")
            return state.status

        return await self._run(order_id, "add_tag" if add else "remove_tag", body(), tag=tag)

    async def move_shipment(
        self, order_id: str, shipment_id: str, warehouse: str, reason: str
    ) -> ActionResult:
        async def body() -> str | None:
            self._require_ops()
            async with self.sessions() as session:
                shipment = await read.get_shipment(session, shipment_id)
                target = await catalog.get_warehouse(session, warehouse)
            if shipment is None or shipment.order_id != order_id:
                raise Refused(
                    ProblemCode.NOT_FOUND, f"no shipment {shipment_id} on order {order_id}"
                )
            if target is None or not target.active:
                raise Refused(ProblemCode.UNKNOWN_WAREHOUSE, f"no active warehouse {warehouse}")
            handle = self.client.get_workflow_handle(names.fulfillment_workflow_id(shipment_id))
            answer = await _update(
                handle.execute_update(
                    FulfillmentWorkflow.move, MoveInput(warehouse=warehouse, reason=reason)
                )
            )
            if answer is None:
                raise Refused(ProblemCode.NOT_OPEN, f"shipment {shipment_id} is no longer open")
            if answer.record is not None:  # the row first: the page reads it next
                async with self.sessions.begin() as session:
                    await write_shipment(session, answer.record)
            return answer.view.status

        return await self._run(
            order_id, "move_shipment", body(), shipment_id=shipment_id, warehouse=warehouse
        )


#: A single-order refusal's HTTP status by its code; any other refusal is a 409.
_STATUS_OF: dict[str, int] = {
    ProblemCode.NOT_FOUND: 404,
    ProblemCode.FORBIDDEN: 403,
    ProblemCode.UNAVAILABLE: 503,
}


def raise_for(result: ActionResult) -> None:
    """A single-order refusal as the API's problem+json (404 / 403 / 409 / 503)."""
    if result.ok:
        return
    status = _STATUS_OF.get(result.reason or "", 409)
    raise Problem(status, result.detail, reason=result.reason)
