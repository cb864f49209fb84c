"""What a customer was told: the notices mailed to them (docs/notices.md)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.access import CustomerInReach
from app.kit.auth import BACK_OFFICE, STAFF, Principal, authenticate
from app.kit.errors import problem_responses
from app.kit.pagination import Cursor, Limit, Page
from app.kit.routing import TransactionalRoute
from app.kit.session import get_session
from app.notices import service
from app.notices.schemas import NoticeRead

router = APIRouter(prefix="/v1", route_class=TransactionalRoute, tags=["notices"])


@router.get(
    "/customers/{customer_id}/notices",
    response_model=Page[NoticeRead],
    responses=problem_responses(401, 403, 404, 422),
)
async def list_notices(
    customer_id: CustomerInReach,
    limit: Limit = 50,
    cursor: Cursor = None,
    principal: Principal = Depends(authenticate),
    session: AsyncSession = Depends(get_session),
) -> Page[NoticeRead]:
    """The mail notices sent to the customer (transfer awaiting consent, refund, ticket
    resolved, credits expiring), newest first: what the mail said, in which language, and
    about what. The customer itself, staff and back office may read them."""
    if not principal.is_customer:
        principal.require(*STAFF, *BACK_OFFICE)
    return await service.list_notices(session, customer_id, limit=limit, cursor=cursor)
