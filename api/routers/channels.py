"""Sales channels told the available quantity of every SKU (see workflows/channel_sync.py)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.exc import IntegrityError

from api.auth import Admin, Ops
from api.bounds import PathText
from api.deps import AppSettings, Session, Temporal
from api.problems import Problem, problem_responses
from api.schemas.stock import (
    ChannelChange,
    ChannelChanged,
    ChannelCreated,
    ChannelIn,
    ChannelOut,
    ChannelPushOut,
    SyncRequested,
)
from api.temporal import TRANSIENT, unavailable
from domain import names
from domain.codes import ProblemCode
from integrations.channels import check_config, keep_secrets, redact
from oms.background import poke_stock_watchers, start_channel_sync
from store import channels as repo
from store.tables import Channel

log = logging.getLogger(__name__)
router = APIRouter(
    prefix="/api/v1/channels", tags=["channels"], responses=problem_responses(401, 403)
)


def _out(ch: Channel, summary: repo.ChannelSummary | None = None) -> ChannelOut:
    return ChannelOut(
        code=ch.code,
        name=ch.name,
        kind=ch.kind,
        safety_buffer=ch.safety_buffer,
        config=redact(ch.config),
        active=ch.active,
        created_at=ch.created_at,
        workflow_id=names.channel_sync_workflow_id(ch.code),
        lag=summary.lag if summary else 0,
        last_push_at=summary.last_push_at if summary else None,
        pushed_skus=summary.pushed_skus if summary else 0,
    )


@router.post(
    "", status_code=201, response_model=ChannelCreated, responses=problem_responses(409, 422)
)
async def create_channel(
    body: ChannelIn, session: Session, client: Temporal, settings: AppSettings, _: Admin
) -> ChannelCreated:
    """Add a channel and start its sync workflow (its first drain pushes every SKU)."""
    try:
        check_config(body.kind, body.config)
    except ValueError as exc:
        raise Problem(422, str(exc), reason=ProblemCode.INVALID_CHANNEL_CONFIG) from exc
    try:
        row = await repo.create_channel(session, **body.model_dump())
        await session.commit()
    except (repo.ChannelExists, IntegrityError) as exc:
        raise Problem(
            409, f"channel {body.code} already exists", reason=ProblemCode.DUPLICATE
        ) from exc
    await session.refresh(row)
    # After the commit: the workflow's first read must find the channel.
    started = False
    if row.active:
        try:
            await start_channel_sync(client, settings, row.code)
            started = True
        except TRANSIENT as exc:
            log.warning("channel %s created, sync workflow not started: %s", row.code, exc)
    return ChannelCreated(**_out(row).model_dump(), sync_started=started)


@router.patch("/{code}", response_model=ChannelChanged, responses=problem_responses(404, 422))
async def change_channel(
    code: PathText,
    body: ChannelChange,
    session: Session,
    client: Temporal,
    settings: AppSettings,
    _: Admin,
) -> ChannelChanged:
    """Rename, re-buffer, reconfigure, pause (``active: false``) or resume a channel.

    Paused, its sync workflow ends at its next read; resumed, or with another buffer or
    config, it gets a full sync (``resync``) and its workflow is started and poked.
    """
    row = await repo.get_channel(session, code)
    if row is None:
        raise Problem(404, f"no channel {code}", reason=ProblemCode.NOT_FOUND)
    changes = body.changes()
    if "config" in changes:
        changes["config"] = keep_secrets(changes["config"], row.config)
        try:
            check_config(row.kind, changes["config"])
        except ValueError as exc:
            raise Problem(422, str(exc), reason=ProblemCode.INVALID_CHANNEL_CONFIG) from exc
    resumed = not row.active and changes.get("active") is True
    resync = await repo.change_channel(session, row, changes)
    await session.commit()
    await session.refresh(row)
    started = False
    if row.active:
        try:
            await start_channel_sync(client, settings, code, fresh=resumed)
            started = True
        except TRANSIENT as exc:
            log.warning("channel %s changed, sync workflow not started: %s", code, exc)
    await poke_stock_watchers(client, [code])  # paused: it ends now; active: it drains now
    [summary] = await repo.list_channels(session, code)
    return ChannelChanged(**_out(row, summary).model_dump(), resync=resync, sync_started=started)


@router.get("", response_model=list[ChannelOut])
async def list_channels(session: Session, _: Ops) -> list[ChannelOut]:
    return [_out(s.channel, s) for s in await repo.list_channels(session)]


@router.get("/{code}/pushes", response_model=list[ChannelPushOut], responses=problem_responses(404))
async def channel_pushes(
    code: PathText,
    session: Session,
    _: Ops,
    sku: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ChannelPushOut]:
    """The last quantity the channel accepted per SKU, most recent first."""
    if await repo.get_channel(session, code) is None:
        raise Problem(404, f"no channel {code}", reason=ProblemCode.NOT_FOUND)
    return [
        ChannelPushOut(
            sku=p.sku,
            available=p.available,
            idempotency_key=p.idempotency_key,
            pushed_at=p.pushed_at,
        )
        for p in await repo.recent_pushes(session, code, sku=sku, limit=limit)
    ]


@router.post(
    "/{code}/sync",
    status_code=202,
    response_model=SyncRequested,
    responses=problem_responses(404, 409, 503),
)
async def sync_now(
    code: PathText, session: Session, client: Temporal, settings: AppSettings, _: Ops
) -> SyncRequested:
    """(Re)start the channel's sync workflow if it is not running, and drain now."""
    channel = await repo.get_channel(session, code)
    if channel is None:
        raise Problem(404, f"no channel {code}", reason=ProblemCode.NOT_FOUND)
    if not channel.active:
        raise Problem(409, f"channel {code} is not active", reason=ProblemCode.INACTIVE)
    try:
        await start_channel_sync(client, settings, code)
    except TRANSIENT as exc:
        raise unavailable(exc) from exc
    await poke_stock_watchers(client, [code])
    return SyncRequested(workflow_id=names.channel_sync_workflow_id(code))
