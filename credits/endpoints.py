from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.access import CustomerInReach
from app.kit.auth import BACK_OFFICE, STAFF, Admin, IntegrationOrAdmin, Principal, authenticate
from app.kit.deps import get_now, get_settings
from app.kit.errors import ValidationFailed, problem_responses
from app.kit.pagination import Cursor, Limit, Page
from app.kit.routing import TransactionalRoute
from app.kit.session import get_session
from app.settings import Settings
from credits import queries, service
from credits.hooks import BALANCE_BUILT, BalanceBuilt
from credits.schemas import (
    AdjustmentCreate,
    BalanceRead,
    EntryRead,
    Money,
    PackList,
    PackRead,
    SpendCreate,
    SpendOut,
    entry_read,
)

router = APIRouter(prefix="/v1", route_class=TransactionalRoute, tags=["credits"])


def _reader(principal: Principal) -> None:
    if not principal.is_customer:
        principal.require(*STAFF, *BACK_OFFICE)


@router.get("/packs", response_model=PackList, responses=problem_responses(401))
async def list_packs(
    _: Principal = Depends(authenticate), settings: Settings = Depends(get_settings)
) -> PackList:
    """The credit-pack catalogue."""
    return PackList(
        data=[
            PackRead(
                code=p.code,
                credits=p.credits,
                price=Money(amount=p.price, currency=settings.currency),
                valid_days=p.valid_days,
            )
            for p in settings.packs
        ]
    )


@router.get(
    "/customers/{customer_id}/balance",
    response_model=BalanceRead,
    responses=problem_responses(401, 403, 404),
)
async def get_balance(
    customer_id: CustomerInReach,
    principal: Principal = Depends(authenticate),
    session: AsyncSession = Depends(get_session),
    now: datetime = Depends(get_now),
    settings: Settings = Depends(get_settings),
) -> BalanceRead:
    """Credits available and frozen, the lots they sit in, and progress to the next free
    credit."""
    _reader(principal)
    result = await queries.balance(
        session,
        customer_id,
        now=now,
        currency=settings.currency,
        threshold=settings.reward_threshold_cents,
    )
    await BALANCE_BUILT.publish(session, BalanceBuilt(result, settings, now))
    return result


@router.get(
    "/customers/{customer_id}/entries",
    response_model=Page[EntryRead],
    responses=problem_responses(401, 403, 404, 422),
)
async def list_entries(
    customer_id: CustomerInReach,
    limit: Limit = 50,
    cursor: Cursor = None,
    principal: Principal = Depends(authenticate),
    session: AsyncSession = Depends(get_session),
) -> Page[EntryRead]:
    """The customer's credit statement, newest first, with the balance after each entry."""
    _reader(principal)
    return await queries.entries(session, customer_id, limit=limit, cursor=cursor)


@router.post(
    "/customers/{customer_id}/spend",
    status_code=201,
    response_model=SpendOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def report_spend(
    body: SpendCreate,
    _: IntegrationOrAdmin,
    customer_id: CustomerInReach,
    session: AsyncSession = Depends(get_session),
    now: datetime = Depends(get_now),
    settings: Settings = Depends(get_settings),
) -> SpendOut:
    """Report qualifying product spend (negative for a refund); 1 free credit per full
    reward threshold, cumulative. A repeated `reference` with the same amount changes
    nothing; with another amount it is refused (409 `spend_reference_reused`)."""
    if body.amount.currency not in (None, settings.currency):
        raise ValidationFailed(
            f"Spend is counted in {settings.currency}; this amount is in {body.amount.currency}.",
            code="currency_mismatch",
            field="amount.currency",
        )
    result = await service.record_spend(
        session,
        customer_id,
        amount=body.amount.amount,
        reference=body.reference,
        occurred_at=body.occurred_at or now,
        now=now,
        threshold=settings.reward_threshold_cents,
        currency=settings.currency,
    )
    return SpendOut(
        total=Money(amount=result.total, currency=settings.currency),
        rewarded_credits=result.rewarded_credits,
        credits_granted=result.credits_granted,
    )


@router.post(
    "/customers/{customer_id}/adjustments",
    status_code=201,
    response_model=EntryRead,
    responses=problem_responses(401, 402, 403, 404, 422),
)
async def create_adjustment(
    body: AdjustmentCreate,
    principal: Admin,
    customer_id: CustomerInReach,
    session: AsyncSession = Depends(get_session),
    now: datetime = Depends(get_now),
    settings: Settings = Depends(get_settings),
) -> EntryRead:
    """Grant (+) or remove (−) credits by hand; the reason and the admin key are kept."""
    posted = await service.adjust(
        session,
        customer_id,
        credits=body.credits,
        reason=body.reason,
        now=now,
        currency=settings.currency,
        valid_days=body.valid_days,
        actor=principal.key_id,
    )
    return entry_read(posted.transaction)
