"""Expected completion over HTTP: staff set it on a planned task; the ticket's readers
read it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy.ext.asyncio import AsyncSession

from app.desk.access import TicketInReach
from app.desk.plans import service
from app.desk.plans.schemas import PlanRead, PlanWrite
from app.kit.auth import BACK_OFFICE, STAFF, Principal, Role, require_roles
from app.kit.deps import get_now, get_settings
from app.kit.errors import problem_responses
from app.kit.routing import TransactionalRoute
from app.kit.session import get_session
from app.settings import Settings

router = APIRouter(prefix="/v1", route_class=TransactionalRoute, tags=["service levels"])
Planner = Annotated[Principal, Depends(require_roles(*STAFF))]


@router.put(
    "/tickets/{ticket_id}/expected-completion",
    response_model=PlanRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def set_expected_completion(
    body: PlanWrite,
    principal: Planner,
    ticket_id: TicketInReach,
    session: AsyncSession = Depends(get_session),
    settings: Settings = Depends(get_settings),
    now: datetime = Depends(get_now),
) -> PlanRead:
    """Tell the customer when a planned task should be done (seed 000: within 3 working
    hours of submission); posts a public message on the ticket."""
    return await service.set_plan(
        session, ticket_id, body, principal=principal, settings=settings, now=now
    )


@router.get(
    "/tickets/{ticket_id}/expected-completion",
    response_model=PlanRead,
    responses=problem_responses(401, 403, 404),
)
async def get_expected_completion(
    ticket_id: TicketInReach,
    principal: Principal = Depends(require_roles(Role.customer, *STAFF, *BACK_OFFICE)),
    session: AsyncSession = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> PlanRead:
    """The ticket's expected completion, if told, and the deadline for telling it."""
    return await service.read_plan(session, ticket_id, principal, settings)
