"""Contract levels over HTTP: admins define named sets of targets and assign them to
customers; staff and back office read them; a customer reads its own level."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from app.desk.sla.levels import service
from app.desk.sla.levels.schemas import CustomerLevelRead, LevelAssignment, LevelRead, LevelWrite
from app.kit.access import CustomerInReach
from app.kit.auth import BACK_OFFICE, STAFF, Admin, Principal, Role, require_roles
from app.kit.deps import get_now
from app.kit.errors import problem_responses
from app.kit.pagination import Page
from app.kit.routing import TransactionalRoute
from app.kit.session import get_session

router = APIRouter(prefix="/v1", route_class=TransactionalRoute, tags=["service levels"])
LevelId = Annotated[str, Path(max_length=40, description="`lvl_…`")]
READERS = (*STAFF, *BACK_OFFICE)


@router.post(
    "/contract-levels",
    status_code=201,
    response_model=LevelRead,
    responses=problem_responses(401, 403, 409, 422),
)
async def create_level(
    body: LevelWrite,
    _: Admin,
    session: AsyncSession = Depends(get_session),
    now: datetime = Depends(get_now),
) -> LevelRead:
    """Define a contract level: first-response and resolution targets (working minutes)
    per severity and category (admin; 409 `contract_level_exists` for a taken name)."""
    return await service.create_level(session, body, now)


@router.get(
    "/contract-levels", response_model=Page[LevelRead], responses=problem_responses(401, 403)
)
async def list_levels(
    _: Principal = Depends(require_roles(*READERS)),
    session: AsyncSession = Depends(get_session),
) -> Page[LevelRead]:
    """Every contract level, by name (one page: levels are few)."""
    return Page(data=await service.list_levels(session))


@router.get(
    "/contract-levels/{level_id}",
    response_model=LevelRead,
    responses=problem_responses(401, 403, 404),
)
async def get_level(
    level_id: LevelId,
    _: Principal = Depends(require_roles(*READERS)),
    session: AsyncSession = Depends(get_session),
) -> LevelRead:
    """One contract level and its targets."""
    return await service.read_level(session, level_id)


@router.put(
    "/contract-levels/{level_id}",
    response_model=LevelRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def replace_level(
    body: LevelWrite,
    level_id: LevelId,
    _: Admin,
    session: AsyncSession = Depends(get_session),
    now: datetime = Depends(get_now),
) -> LevelRead:
    """Replace a level's name and targets; its customers' open tickets follow at once."""
    return await service.replace_level(session, level_id, body, now)


@router.delete(
    "/contract-levels/{level_id}",
    status_code=204,
    response_class=Response,
    responses=problem_responses(401, 403, 404, 409),
)
async def delete_level(
    level_id: LevelId,
    _: Admin,
    session: AsyncSession = Depends(get_session),
) -> Response:
    """Delete a level nobody is on (409 `contract_level_in_use` otherwise)."""
    await service.delete_level(session, level_id)
    return Response(status_code=204)


@router.get(
    "/customers/{customer_id}/contract-level",
    response_model=CustomerLevelRead,
    responses=problem_responses(401, 403, 404),
)
async def get_customer_level(
    customer_id: CustomerInReach,
    principal: Principal = Depends(require_roles(Role.customer, *READERS)),
    session: AsyncSession = Depends(get_session),
) -> CustomerLevelRead:
    """The customer's contract level (null: the line's targets). A customer: its own."""
    return await service.customer_level(session, customer_id)


@router.put(
    "/customers/{customer_id}/contract-level",
    response_model=CustomerLevelRead,
    responses=problem_responses(401, 403, 404, 422),
)
async def assign_level(
    body: LevelAssignment,
    _: Admin,
    customer_id: CustomerInReach,
    session: AsyncSession = Depends(get_session),
    now: datetime = Depends(get_now),
) -> CustomerLevelRead:
    """Put a customer on a contract level, or back on the line's targets with `null`
    (admin). Their open tickets' targets follow at once."""
    return await service.assign_level(session, customer_id, body.level_id, now)
