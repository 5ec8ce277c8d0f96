"""``GET /api/v1/stream``: the read model's changes as server-sent events.

See :mod:`api.stream` for what a stream carries and what resuming guarantees. Bearer key
or dashboard session; a staff key hears only its warehouse's orders and shipments.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.auth import Reader, scope_of
from api.problems import problem_responses
from api.stream import StreamHub, frames

router = APIRouter(tags=["stream"], responses=problem_responses(401, 403))

PING_SECONDS = 15
RETRY_MS = 2000


@router.get(
    "/api/v1/stream",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "changes"}},
)
async def stream(
    request: Request,
    who: Reader,
    last_event_id: Annotated[str | None, Header(max_length=20)] = None,
    resume_from: Annotated[
        str | None,
        Query(
            alias="last_event_id",
            max_length=20,
            description="as the header, for clients that reconnect themselves",
        ),
    ] = None,
) -> EventSourceResponse:
    hub: StreamHub = request.app.state.stream_hub
    given = last_event_id or resume_from
    resume = int(given) if given and given.isdigit() else None

    async def events() -> AsyncIterator[ServerSentEvent]:
        yield ServerSentEvent(comment="connected", retry=RETRY_MS)
        async for frame in frames(
            hub, request.app.state.sessions, scope=scope_of(who), last_event_id=resume
        ):
            yield ServerSentEvent(
                data=json.dumps(frame.data, separators=(",", ":")),
                event=frame.event,
                id=frame.id,
            )

    return EventSourceResponse(
        events(),
        ping=PING_SECONDS,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
