from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.customers import repository, service
from app.customers.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    CustomerCreate,
    CustomerRead,
    CustomerUpdate,
    VerifyCallerIn,
    VerifyCallerOut,
)
from app.kit.access import CallerScope, CustomerInReach, body_customer_guard
from app.kit.auth import (
    STAFF,
    Admin,
    Principal,
    Role,
    Staff,
    StaffOrBackOffice,
    authenticate,
    require_roles,
)
from app.kit.deps import get_now, get_settings
from app.kit.errors import Forbidden, problem_responses
from app.kit.inputs import Instant
from app.kit.pagination import Cursor, Limit, Page, cursor_text, keyset_page
from app.kit.routing import TransactionalRoute, redact_from_idempotency_record
from app.kit.session import get_session
from app.settings import Settings

AdminOrCrAgent = Annotated[Principal, Depends(require_roles(Role.admin, Role.cr_agent))]
# a partner's scoped integration key creates its own end customers
AdminCrAgentOrPartner = Annotated[
    Principal, Depends(require_roles(Role.admin, Role.cr_agent, Role.integration))
]

# The customer a new key is bound to, if the caller reaches it (an admin reaches all).
KeyCustomer = Annotated[str | None, Depends(body_customer_guard(ApiKeyCreate))]

router = APIRouter(prefix="/v1", route_class=TransactionalRoute)
CUSTOMER_EDITABLE = frozenset({"auto_accept_transfers", "low_balance_threshold", "locale"})


@router.post(
    "/customers",
    status_code=201,
    response_model=CustomerRead,
    tags=["customers"],
    responses=problem_responses(401, 403, 409, 422),
)
async def create_customer(
    body: CustomerCreate,
    principal: AdminCrAgentOrPartner,
    session: AsyncSession = Depends(get_session),
    now: datetime = Depends(get_now),
    settings: Settings = Depends(get_settings),
) -> CustomerRead:
    """Create a customer (and its empty credit wallet). A partner's scoped integration key
    creates its own end customers (`parent_id` = the partner). 409 `external_ref_taken`
    names the customer that has the reference (when this key may see it)."""
    if principal.role is Role.integration and principal.partner_id is None:
        raise Forbidden("Only an integration key scoped to a partner may create customers.")
    customer = await service.create_customer(
        session,
        body,
        now,
        parent_id=principal.partner_id,
        visible=principal.sees,
        default_low_balance_threshold=settings.low_balance_threshold,
    )
    return service.to_read(customer)


@router.get("/customers", response_model=Page[CustomerRead], tags=["customers"])
async def list_customers(
    *,
    limit: Limit = 50,
    cursor: Cursor = None,
    email: str | None = None,
    external_ref: str | None = None,
    updated_gte: Instant | None = None,
    principal: StaffOrBackOffice,
    scope: CallerScope,
    session: AsyncSession = Depends(get_session),
) -> Page[CustomerRead]:
    """List customers, oldest first, optionally by e-mail, external reference or last
    change. A partner's scoped key lists the partner and its end customers."""
    rows = await repository.list_customers(
        session, after=cursor_text(cursor, "after"), limit=limit + 1,
        email=email, external_ref=external_ref, partner_id=scope.partner_id,
        updated_gte=updated_gte,
    )  # fmt: skip
    return keyset_page(rows, limit, key="after", position=lambda c: c.id, read=service.to_read)


@router.get(
    "/customers/{customer_id}",
    response_model=CustomerRead,
    tags=["customers"],
    responses=problem_responses(401, 403, 404),
)
async def get_customer(
    customer_id: CustomerInReach,
    principal: Principal = Depends(authenticate),
    session: AsyncSession = Depends(get_session),
) -> CustomerRead:
    """Read a customer. A customer key reads only its own."""
    return service.to_read(await service.get_customer(session, customer_id))


@router.patch(
    "/customers/{customer_id}",
    response_model=CustomerRead,
    tags=["customers"],
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def update_customer(
    body: CustomerUpdate,
    customer_id: CustomerInReach,
    principal: Principal = Depends(authenticate),
    session: AsyncSession = Depends(get_session),
    now: datetime = Depends(get_now),
) -> CustomerRead:
    """Change a customer. A customer key may change only its own `auto_accept_transfers`,
    `low_balance_threshold` and `locale`; a partner's scoped key its own end customers (not
    `partner`)."""
    if principal.is_customer:
        if set(body.model_fields_set) - CUSTOMER_EDITABLE:
            raise Forbidden(
                "A customer may change only `auto_accept_transfers`, `low_balance_threshold` "
                "and `locale`."
            )
    elif principal.partner_id is not None:
        if "partner" in body.model_fields_set:
            raise Forbidden("A partner's key may not change `partner`.")
    else:
        principal.require(*STAFF)
    customer = await service.get_customer(session, customer_id, lock=True)
    updated = await service.update_customer(session, customer, body, now, visible=principal.sees)
    return service.to_read(updated)


@router.post(
    "/customers/{customer_id}/verify-caller",
    response_model=VerifyCallerOut,
    tags=["customers"],
    responses=problem_responses(401, 403, 404, 422, 429),
)
async def verify_caller(
    body: VerifyCallerIn,
    _: Staff,
    customer_id: CustomerInReach,
    session: AsyncSession = Depends(get_session),
    now: datetime = Depends(get_now),
    settings: Settings = Depends(get_settings),
) -> VerifyCallerOut:
    """Check a phone caller's code word (attempts are limited per customer)."""
    verified = await service.verify_caller(
        session,
        customer_id,
        body.code_word,
        now=now,
        max_attempts=settings.verify_max_attempts,
        lockout=timedelta(minutes=settings.verify_lockout_minutes),
    )
    return VerifyCallerOut(verified=verified)


@router.post(
    "/api-keys",
    status_code=201,
    response_model=ApiKeyCreated,
    tags=["api keys"],
    responses=problem_responses(401, 403, 404, 422),
)
async def create_api_key(
    body: ApiKeyCreate,
    request: Request,
    _: Admin,
    customer_id: KeyCustomer,
    session: AsyncSession = Depends(get_session),
    now: datetime = Depends(get_now),
) -> ApiKeyCreated:
    """Issue an API key. The secret is in this response only."""
    # The secret is stored nowhere, not even for an idempotent replay (which answers null).
    redact_from_idempotency_record(request, "key")
    key, secret = await service.create_api_key(
        session, role=body.role, name=body.name, customer_id=customer_id, now=now
    )
    return ApiKeyCreated(**ApiKeyRead.model_validate(key).model_dump(), key=secret)


@router.get("/api-keys", response_model=Page[ApiKeyRead], tags=["api keys"])
async def list_api_keys(
    *,
    limit: Limit = 50,
    cursor: Cursor = None,
    _: Admin,
    session: AsyncSession = Depends(get_session),
) -> Page[ApiKeyRead]:
    """List API keys (never their secrets)."""
    rows = await repository.list_api_keys(
        session, after=cursor_text(cursor, "after"), limit=limit + 1
    )
    return keyset_page(
        rows, limit, key="after", position=lambda k: k.id, read=ApiKeyRead.model_validate
    )


@router.delete(
    "/api-keys/{key_id}",
    response_model=ApiKeyRead,
    tags=["api keys"],
    responses=problem_responses(401, 403, 404),
)
async def revoke_api_key(
    *,
    key_id: str = Path(max_length=40),
    _: Admin,
    session: AsyncSession = Depends(get_session),
    now: datetime = Depends(get_now),
) -> ApiKeyRead:
    """Revoke an API key; it stops working at once, and so does every console session it
    opened. Revoking twice changes nothing."""
    key = await service.get_api_key(session, key_id)
    await service.revoke_api_key(session, key, now)
    return ApiKeyRead.model_validate(key)
