"""Auto top-up payments, after the debit that claimed them has committed.

Each claimed `top_ups` row is taken under its row lock: its purchase is opened with the
row's id as Idempotency-Key (one purchase per row, however often this runs), then the saved
card is charged off-session with a Stripe idempotency key derived from the same id (one
PaymentIntent per row), with no transaction open. A crash anywhere leaves the row
`pending` or `charging`; the next run (after the lease) picks it up and gets the same
purchase and the same PaymentIntent back."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.db import Database
from app.settings import Settings
from app.topups import service
from app.topups.models import AutoTopUp, TopUp, TopUpStatus
from billing import events as payment_events
from billing import service as billing
from billing.models import Purchase, PurchaseStatus
from billing.stripe_client import (
    CardDeclined,
    PaymentProviderUnavailable,
    StripeGateway,
    build_gateway,
)
from billing.stripe_objects import PaymentIntent

logger = logging.getLogger("creditdesk.topups")

LEASE = timedelta(minutes=5)


def stripe_key_for(top_up_id: str) -> str:
    return f"creditdesk-top-up-{top_up_id}"


@dataclass(slots=True)
class _Charge:
    top_up_id: str
    purchase_id: str
    customer_id: str
    pack: str
    amount: int
    currency: str
    stripe_customer: str
    payment_method: str


async def run_top_ups(
    db: Database, settings: Settings, now: datetime, gateway: StripeGateway | None = None
) -> int:
    """Processes every claimed top-up that is due; returns how many it finished."""
    async with db.unit_of_work() as session:
        due = list(
            (
                await session.execute(
                    select(TopUp.id)
                    .where(
                        or_(
                            TopUp.status == TopUpStatus.pending.value,
                            and_(
                                TopUp.status == TopUpStatus.charging.value,
                                TopUp.updated_at <= now - LEASE,
                            ),
                        )
                    )
                    .order_by(TopUp.created_at)
                    .limit(200)
                )
            ).scalars()
        )
    if not due:
        return 0
    own_gateway = gateway is None and settings.payment_provider == "stripe"
    if own_gateway:
        gateway = build_gateway(settings)
    done = 0
    try:
        for top_up_id in due:
            done += await _process(db, gateway, settings, now, top_up_id)
    finally:
        if own_gateway and gateway is not None:
            await gateway.aclose()
    return done


async def _process(
    db: Database, gateway: StripeGateway | None, settings: Settings, now: datetime, top_up_id: str
) -> int:
    async with db.unit_of_work() as session:
        # skip_locked: another worker has it
        stmt = select(TopUp).where(TopUp.id == top_up_id).with_for_update(skip_locked=True)
        top_up = (await session.execute(stmt)).scalar_one_or_none()
        if top_up is None or not _due(top_up, now):
            return 0
        config = await service.get_config(session, top_up.customer_id, lock=True, now=now)
        if not config.enabled or config.payment_method_id is None:
            top_up.status, top_up.updated_at = TopUpStatus.skipped.value, now
            return 1
        if config.provider == "offline" or settings.payment_provider == "offline":
            if config.payment_method_id == service.OFFLINE_CARD_DECLINE:
                await service.record_failure(
                    session, top_up, config, "card_declined (offline test card)",
                    settings=settings, now=now,
                )  # fmt: skip
                return 1
            purchase = await _open(session, top_up, settings, now)
            _succeeded(top_up, config, purchase, now)
            return 1
        purchase = await _open(session, top_up, settings, now)
        top_up.status, top_up.updated_at = TopUpStatus.charging.value, now
        charge = _Charge(
            top_up.id, purchase.id, purchase.customer_id, purchase.pack, purchase.amount,
            purchase.currency, config.provider_customer_id or "", config.payment_method_id,
        )  # fmt: skip
    return await _charge(db, gateway, settings, now, charge)


def _due(top_up: TopUp, now: datetime) -> bool:
    if top_up.status == TopUpStatus.pending.value:
        return True
    return top_up.status == TopUpStatus.charging.value and top_up.updated_at <= now - LEASE


async def _open(
    session: AsyncSession, top_up: TopUp, settings: Settings, now: datetime
) -> Purchase:
    """The top-up's one purchase: made on the first run, the same one on every later run
    (a run that died after committing it leaves `purchase_id` set; the row is locked)."""
    if top_up.purchase_id is not None:
        return await billing.get_purchase(session, top_up.purchase_id)
    purchase = await billing.open_purchase(
        session, customer_id=top_up.customer_id, pack_code=top_up.pack, settings=settings, now=now
    )
    top_up.purchase_id = purchase.id
    return purchase


def _succeeded(top_up: TopUp, config: AutoTopUp, purchase: Purchase, now: datetime) -> None:
    top_up.status = TopUpStatus.succeeded.value
    top_up.purchase_id = purchase.id
    top_up.updated_at = now
    config.failures = 0
    config.updated_at = now


async def _charge(
    db: Database, gateway: StripeGateway | None, settings: Settings, now: datetime, c: _Charge
) -> int:
    if gateway is None:
        logger.warning("top-up %s waits: Stripe is not configured", c.top_up_id)
        return 0
    declined: CardDeclined | None = None
    try:
        intent = await gateway.charge_off_session(
            purchase_id=c.purchase_id, customer_id=c.customer_id, pack=c.pack, amount=c.amount,
            currency=c.currency, stripe_customer=c.stripe_customer,
            payment_method=c.payment_method, idempotency_key=stripe_key_for(c.top_up_id),
        )  # fmt: skip
    except CardDeclined as exc:
        declined, intent = exc, exc.intent or {}
    except PaymentProviderUnavailable:
        return 0  # the lease expires and a later run asks again, with the same key
    async with db.unit_of_work() as session:
        top_up = (
            await session.execute(select(TopUp).where(TopUp.id == c.top_up_id).with_for_update())
        ).scalar_one()
        config = await service.get_config(session, c.customer_id, lock=True, now=now)
        if intent.get("id"):
            await payment_events.apply_intent_state(
                session, PaymentIntent.parse(intent), settings=settings, now=now
            )
        purchase = await billing.get_purchase(session, c.purchase_id)
        if top_up.status != TopUpStatus.charging.value:
            return 0
        if declined is not None:
            if purchase.status == PurchaseStatus.pending.value:
                billing.fail_pending(session, purchase, declined.reason[:500], now=now)
            await service.record_failure(
                session, top_up, config, declined.reason, settings=settings, now=now
            )
            return 1
        if purchase.status == PurchaseStatus.succeeded.value:
            _succeeded(top_up, config, purchase, now)
            return 1
        top_up.updated_at = now  # still processing at Stripe: asked again after the lease
        return 0
