"""Small-change hours over HTTP: engineers log work on tickets; admins set a customer's
own allowance; the month's balance is in `GET /v1/customers/{id}/balance`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy.ext.asyncio import AsyncSession

from app.desk.access import TicketInReach
from app.desk.changes import service
from app.desk.changes.schemas import AllowanceWrite, WorkLogCreate, WorkLogCreated, WorkLogRead
from app.kit.access import CustomerInReach
from app.kit.auth import BACK_OFFICE, STAFF, Admin, Principal, Role, require_roles
from app.kit.deps import get_now, get_settings
from app.kit.errors import problem_responses
from app.kit.pagination import Page
from app.kit.routing import TransactionalRoute
from app.kit.session import get_session
from app.settings import Settings
from credits.schemas import ChangeHoursRead

router = APIRouter(prefix="/v1", route_class=TransactionalRoute, tags=["tickets"])
WorkLogger = Annotated[Principal, Depends(require_roles(Role.engineer, Role.admin))]


@router.post(
    "/tickets/{ticket_id}/work-logs",
    status_code=201,
    response_model=WorkLogCreated,
    responses=problem_responses(401, 402, 403, 404, 409, 422),
)
async def log_work(
    body: WorkLogCreate,
    principal: WorkLogger,
    ticket_id: TicketInReach,
    session: AsyncSession = Depends(get_session),
    settings: Settings = Depends(get_settings),
    now: datetime = Depends(get_now),
) -> WorkLogCreated:
    """Log work on a small change against the customer's monthly allowance (seed 001
    §2.4). Beyond it: 409 `change_hours_exhausted`, or credits per started hour (setting)."""
    return await service.log_work(
        session, ticket_id, body, principal=principal, settings=settings, now=now
    )


@router.get(
    "/tickets/{ticket_id}/work-logs",
    response_model=Page[WorkLogRead],
    responses=problem_responses(401, 403, 404),
)
async def list_work_logs(
    ticket_id: TicketInReach,
    principal: Principal = Depends(require_roles(Role.customer, *STAFF, *BACK_OFFICE)),
    session: AsyncSession = Depends(get_session),
) -> Page[WorkLogRead]:
    """The work logged on a ticket, oldest first (a customer: its own tickets)."""
    return Page(data=await service.list_logs(session, ticket_id, principal))


@router.put(
    "/customers/{customer_id}/change-allowance",
    response_model=ChangeHoursRead,
    responses=problem_responses(401, 403, 404, 422),
)
async def set_allowance(
    body: AllowanceWrite,
    _: Admin,
    customer_id: CustomerInReach,
    session: AsyncSession = Depends(get_session),
    settings: Settings = Depends(get_settings),
    now: datetime = Depends(get_now),
) -> ChangeHoursRead:
    """Set the customer's own monthly allowance of small-change hours (admin; `null`: the
    default). Answers this month's balance."""
    return await service.set_allowance(session, customer_id, body.hours_per_month, settings, now)
