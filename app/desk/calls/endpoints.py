"""Phone consultations over HTTP: staff log a customer's call; staff, back office and the
customer (its own) list them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy.ext.asyncio import AsyncSession

from app.desk.calls import service
from app.desk.calls.schemas import CallCreate, CallRead
from app.kit.access import CustomerInReach
from app.kit.auth import BACK_OFFICE, STAFF, Principal, Role, require_roles
from app.kit.deps import get_now, get_settings
from app.kit.errors import problem_responses
from app.kit.pagination import Cursor, Limit, Page
from app.kit.routing import TransactionalRoute
from app.kit.session import get_session
from app.settings import Settings

router = APIRouter(prefix="/v1", route_class=TransactionalRoute, tags=["calls"])
LOGGERS = (Role.cr_agent, Role.engineer, Role.admin)
READERS = (Role.customer, *STAFF, *BACK_OFFICE)
Logger = Annotated[Principal, Depends(require_roles(*LOGGERS))]


@router.post(
    "/customers/{customer_id}/calls",
    status_code=201,
    response_model=CallRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def log_call(
    body: CallCreate,
    principal: Logger,
    customer_id: CustomerInReach,
    session: AsyncSession = Depends(get_session),
    settings: Settings = Depends(get_settings),
    now: datetime = Depends(get_now),
) -> CallRead:
    """Log a phone consultation (seed 000): at most 15 minutes (422 `call_too_long`) and 3
    per working day (409 `call_limit_reached`). It extends the targets of the customer's
    other tickets by its duration."""
    return await service.log_call(
        session, customer_id, body, principal=principal, settings=settings, now=now
    )


@router.get(
    "/customers/{customer_id}/calls",
    response_model=Page[CallRead],
    responses=problem_responses(401, 403, 404, 422),
)
async def list_calls(
    customer_id: CustomerInReach,
    limit: Limit = 50,
    cursor: Cursor = None,
    principal: Principal = Depends(require_roles(*READERS)),
    session: AsyncSession = Depends(get_session),
) -> Page[CallRead]:
    """The customer's phone consultations, newest first (a customer key: its own)."""
    return await service.list_calls(session, customer_id, limit=limit, cursor=cursor)
