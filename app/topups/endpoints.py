"""Auto top-up settings and saved cards over HTTP."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession

from app.customers.models import Customer
from app.kit import idempotency
from app.kit.access import CustomerInReach, authenticate_apart, customer_guard
from app.kit.auth import BACK_OFFICE, STAFF, Principal, Role, authenticate
from app.kit.db import Database
from app.kit.deps import get_now, get_settings
from app.kit.errors import AppError, NotFound, problem_responses
from app.kit.routing import TransactionalRoute
from app.kit.session import get_session
from app.settings import Settings
from app.topups import service
from app.topups.schemas import (
    AutoTopUpRead,
    AutoTopUpUpdate,
    SetupComplete,
    SetupCreate,
    SetupCreated,
)
from billing.runtime import get_gateway
from billing.stripe_client import PaymentProviderUnavailable, StripeGateway
from credits.catalogue import find_pack

router = APIRouter(prefix="/v1", route_class=TransactionalRoute, tags=["auto top-up"])
# Saving a card talks to Stripe between short transactions (never inside one).
stripe_router = APIRouter(route_class=APIRoute, tags=["auto top-up"])


# Saving a card runs its own transactions: its caller is checked in one of its own.
CardOwnerInReach = Annotated[str, Depends(customer_guard(authenticate_apart))]


def _owner_or_admin(principal: Principal) -> None:
    if not principal.is_customer:
        principal.require(Role.admin)


@router.get(
    "/customers/{customer_id}/auto-top-up",
    response_model=AutoTopUpRead,
    responses=problem_responses(401, 403, 404),
)
async def get_auto_top_up(
    customer_id: CustomerInReach,
    principal: Principal = Depends(authenticate),
    session: AsyncSession = Depends(get_session),
) -> AutoTopUpRead:
    """The customer's auto top-up: pack, threshold, saved card, failures in a row."""
    if not principal.is_customer:
        principal.require(*STAFF, *BACK_OFFICE)
    return service.to_read(await service.get_config(session, customer_id))


@router.put(
    "/customers/{customer_id}/auto-top-up",
    response_model=AutoTopUpRead,
    responses=problem_responses(401, 403, 404, 422),
)
async def put_auto_top_up(
    body: AutoTopUpUpdate,
    customer_id: CustomerInReach,
    principal: Principal = Depends(authenticate),
    session: AsyncSession = Depends(get_session),
    settings: Settings = Depends(get_settings),
    now: datetime = Depends(get_now),
) -> AutoTopUpRead:
    """Turn auto top-up on or off: when available credits fall to `threshold`, `pack` is
    bought once with the saved card (422 `payment_method_required` without one)."""
    _owner_or_admin(principal)
    find_pack(settings, body.pack)
    config = await service.get_config(session, customer_id, lock=True, now=now)
    if body.enabled and config.payment_method_id is None:
        raise service.PaymentMethodRequired(
            "Save a card first: POST /v1/customers/{id}/payment-methods/setup."
        )
    config.enabled, config.pack, config.threshold = body.enabled, body.pack, body.threshold
    if body.enabled:
        config.failures, config.disabled_reason = 0, None
    config.updated_at = now
    await session.flush()
    return service.to_read(config)


@stripe_router.post(
    "/customers/{customer_id}/payment-methods/setup",
    status_code=201,
    response_model=SetupCreated,
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def setup_payment_method(
    *,
    request: Request,
    body: SetupCreate | None = None,
    customer_id: CardOwnerInReach,
    idempotency_key: str | None = Header(default=None, alias="Idempotency-Key"),
    principal: Principal = Depends(authenticate_apart),
    settings: Settings = Depends(get_settings),
    gateway: StripeGateway | None = Depends(get_gateway),
) -> SetupCreated:
    """Start saving a card for off-session payments: a Stripe Customer and SetupIntent,
    whose `client_secret` the Payment Element confirms; then call `…/setup/complete`. The
    offline provider (development) saves a test card at once (`offline_card: decline` for
    one that declines). A retry with the same `Idempotency-Key` gets the same SetupIntent
    (Stripe's idempotency key is derived from it)."""
    if idempotency_key is not None:
        idempotency.validate_key(idempotency_key)
    db: Database = request.app.state.db
    now = request.app.state.clock.now()
    _owner_or_admin(principal)
    async with db.unit_of_work() as session:
        customer = await session.get(Customer, customer_id)
        if customer is None:
            raise NotFound("No such customer.")
        config = await service.get_config(session, customer_id, lock=True, now=now)
        if settings.payment_provider == "offline":
            service.save_offline_card(config, (body or SetupCreate()).offline_card, now)
            return SetupCreated(
                provider="offline", client_secret=f"seti_offline_{customer_id}_secret",
                status="succeeded",
            )  # fmt: skip
        stripe_customer, email, name = config.provider_customer_id, customer.email, customer.name
    if gateway is None:
        raise PaymentProviderUnavailable("Stripe is not configured on this server.")
    if stripe_customer is None:
        stripe_customer = await gateway.ensure_customer(
            customer_id=customer_id, email=email, name=name
        )
        async with db.unit_of_work() as session:
            config = await service.get_config(session, customer_id, lock=True, now=now)
            config.provider_customer_id, config.updated_at = stripe_customer, now
    intent = await gateway.create_setup_intent(
        stripe_customer=stripe_customer, customer_id=customer_id,
        idempotency_key=f"creditdesk-setup-{customer_id}-{idempotency_key}"
        if idempotency_key is not None else None,
    )  # fmt: skip
    return SetupCreated(
        provider="stripe", client_secret=str(intent["client_secret"]), status=str(intent["status"])
    )


class SetupNotConfirmed(AppError):
    status, code = 409, "setup_not_confirmed"


@stripe_router.post(
    "/customers/{customer_id}/payment-methods/setup/complete",
    response_model=AutoTopUpRead,
    responses=problem_responses(401, 403, 404, 409, 503),
)
async def complete_setup(
    body: SetupComplete,
    request: Request,
    customer_id: CardOwnerInReach,
    idempotency_key: str | None = Header(default=None, alias="Idempotency-Key"),
    principal: Principal = Depends(authenticate_apart),
    gateway: StripeGateway | None = Depends(get_gateway),
) -> AutoTopUpRead:
    """Record the card a confirmed SetupIntent saved (asked of Stripe, never taken from
    the browser) as the customer's payment method for auto top-up. Repeating it records
    the same card again (an `Idempotency-Key` is accepted and changes nothing)."""
    if idempotency_key is not None:
        idempotency.validate_key(idempotency_key)
    db: Database = request.app.state.db
    _owner_or_admin(principal)
    async with db.unit_of_work() as session:
        config = await service.get_config(session, customer_id)
        stripe_customer = config.provider_customer_id
    if gateway is None:
        raise PaymentProviderUnavailable("Stripe is not configured on this server.")
    intent = await gateway.retrieve_setup_intent(body.setup_intent_id)
    method_id = intent.get("payment_method")
    method_id = method_id.get("id") if isinstance(method_id, dict) else method_id
    if intent.get("customer") != stripe_customer or stripe_customer is None:
        raise NotFound("No such setup for this customer.")
    if intent.get("status") != "succeeded" or not isinstance(method_id, str):
        raise SetupNotConfirmed("The card has not been confirmed yet.")
    method = await gateway.retrieve_payment_method(method_id)
    now = request.app.state.clock.now()
    async with db.unit_of_work() as session:
        config = await service.get_config(session, customer_id, lock=True, now=now)
        service.save_stripe_card(config, method, now)
        return service.to_read(config)


router.include_router(stripe_router)
