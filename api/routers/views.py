"""Saved views: ``GET/POST /api/v1/views``, ``DELETE /api/v1/views/{view_id}``.

A view belongs to the key that saved it; an admin may mark one ``shared`` so every key
sees it among its tabs. Only its owner (or an admin, for a shared one) deletes it.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.auth import Reader
from api.bounds import PathText
from api.deps import Session
from api.filters import Filters
from api.problems import Problem, problem_responses
from api.schemas.keys import ViewIn, ViewOut
from domain.codes import ProblemCode
from store import views as store
from store.keys import Principal
from store.tables import SavedView

router = APIRouter(prefix="/api/v1/views", tags=["views"], responses=problem_responses(401, 403))


def view_out(view: SavedView, who: Principal) -> ViewOut:
    return ViewOut(
        view_id=view.view_id,
        name=view.name,
        filters=Filters.model_validate(view.filters),
        shared=view.shared,
        mine=view.key_id == who.key_id,
        created_at=view.created_at,
    )


@router.get("", response_model=list[ViewOut])
async def list_views(session: Session, who: Reader) -> list[ViewOut]:
    """The caller's views and the shared ones."""
    return [view_out(v, who) for v in await store.visible_views(session, who.key_id)]


async def save_view(session: Session, who: Principal, body: ViewIn) -> SavedView:
    if body.shared and who.role != "admin":
        raise Problem(403, "only an admin may share a view", reason=ProblemCode.FORBIDDEN)
    view = await store.create_view(
        session,
        who.key_id,
        body.name.strip(),
        body.filters.model_dump(mode="json", exclude_none=True),
        body.shared,
    )
    await session.commit()
    return view


@router.post("", status_code=201, response_model=ViewOut, responses=problem_responses(422))
async def create_view(body: ViewIn, session: Session, who: Reader) -> ViewOut:
    return view_out(await save_view(session, who, body), who)


async def remove_view(session: Session, who: Principal, view_id: str) -> None:
    view = await store.get_view(session, view_id)
    if view is None or not (view.shared or view.key_id == who.key_id):
        raise Problem(404, f"no view {view_id}", reason=ProblemCode.NOT_FOUND)
    if view.key_id != who.key_id and who.role != "admin":
        raise Problem(
            403, "only its owner or an admin may delete this view", reason=ProblemCode.FORBIDDEN
        )
    await store.delete_view(session, view)
    await session.commit()


@router.delete(
    "/{view_id}", status_code=204, response_class=Response, responses=problem_responses(404)
)
async def delete_view(view_id: PathText, session: Session, who: Reader) -> Response:
    await remove_view(session, who, view_id)
    return Response(status_code=204)
