"""API keys (admin): issue and revoke. The plain key is shown once, in the 201 answer."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.auth import Admin, key_cache
from api.bounds import PathText
from api.deps import Session
from api.problems import Problem, problem_responses
from api.schemas.keys import KeyCreate, KeyCreated, KeyRevoked
from domain.codes import ProblemCode
from store import catalog, keys

router = APIRouter(prefix="/api/v1/keys", tags=["keys"], responses=problem_responses(401, 403))


@router.post("", status_code=201, response_model=KeyCreated, responses=problem_responses(422))
async def create_key(body: KeyCreate, session: Session, _: Admin) -> KeyCreated:
    if body.warehouse and await catalog.get_warehouse(session, body.warehouse) is None:
        raise Problem(
            422, f"unknown warehouse {body.warehouse}", reason=ProblemCode.UNKNOWN_WAREHOUSE
        )
    key, key_id = await keys.create_key(session, body.role, body.warehouse, body.name)
    await session.commit()
    return KeyCreated(key=key, key_id=key_id)


@router.delete("/{key_id}", response_model=KeyRevoked, responses=problem_responses(404))
async def revoke_key(key_id: PathText, request: Request, session: Session, _: Admin) -> KeyRevoked:
    """Revoke a key: refused at once by this API process, by others within
    ``OMS_KEY_CACHE_SECONDS``."""
    if not await keys.revoke_key(session, key_id):
        raise Problem(404, f"no key {key_id}", reason=ProblemCode.NOT_FOUND)
    await session.commit()
    key_cache(request).forget(key_id)
    return KeyRevoked(key_id=key_id)
