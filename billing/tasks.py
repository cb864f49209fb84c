"""Deferred payment work: `creditdesk sync-payments` asks Stripe what a missed webhook
would have said, and applies it through the webhook's own code path."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from app.kit.db import Database
from app.settings import Settings
from billing import events, service
from billing.models import EventState, PaymentEvent, Purchase, PurchaseStatus
from billing.stripe_client import PaymentProviderUnavailable, StripeGateway
from billing.stripe_objects import Charge, Dispute, PaymentIntent, object_id

logger = logging.getLogger("creditdesk.billing.sync")


@dataclass(slots=True)
class SyncReport:
    checked: int = 0
    succeeded: int = 0
    failed: int = 0
    parked_applied: int = 0
    paid_checked: int = 0
    refunds_applied: int = 0
    disputes_applied: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "checked": self.checked,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "parked_applied": self.parked_applied,
            "paid_checked": self.paid_checked,
            "refunds_applied": self.refunds_applied,
            "disputes_applied": self.disputes_applied,
            "errors": self.errors,
        }


async def sync_payments(
    db: Database,
    gateway: StripeGateway | None,
    settings: Settings,
    now: datetime,
    *,
    max_age: timedelta = timedelta(days=30),
    limit: int = 1000,
) -> SyncReport:
    """Parked events first (their purchase or customer may be known by now), then every
    unpaid Stripe purchase of the last `max_age`: its PaymentIntent is fetched (or, if the
    purchase never recorded one, created again under the same idempotency key, which
    returns the same intent) with no transaction open, then applied in one short
    transaction per purchase, under the purchase's row lock. Safe to run at any time, as
    often as wanted, beside the webhooks."""
    report = SyncReport()
    await _retry_parked(db, settings, now, report, max_age=max_age, limit=limit)
    if gateway is None:
        return report
    async with db.unit_of_work() as session:
        rows = await session.execute(
            select(Purchase)
            .where(
                Purchase.provider == "stripe",
                Purchase.status.in_([PurchaseStatus.pending.value, PurchaseStatus.failed.value]),
                Purchase.created_at >= now - max_age,
            )
            .order_by(Purchase.created_at, Purchase.id)
            .limit(limit)
        )
        unpaid = list(rows.scalars())
    for purchase in unpaid:
        report.checked += 1
        try:
            intent = await _ask_stripe(gateway, purchase)
        except PaymentProviderUnavailable as exc:
            report.errors.append(f"{purchase.id}: {exc.detail}")
            continue
        async with db.unit_of_work() as session:
            await events.apply_intent_state(session, intent, settings=settings, now=now)
            current = await session.get(Purchase, purchase.id)
        if current is not None and current.status == PurchaseStatus.succeeded.value:
            report.succeeded += 1
        elif current is not None and current.status == PurchaseStatus.failed.value:
            report.failed += 1
    await _sync_refunds_and_disputes(db, gateway, settings, now, report,
                                     max_age=max_age, limit=limit)  # fmt: skip
    logger.info("sync-payments: %s", report.as_dict())
    return report


async def _sync_refunds_and_disputes(
    db: Database,
    gateway: StripeGateway,
    settings: Settings,
    now: datetime,
    report: SyncReport,
    *,
    max_age: timedelta,
    limit: int,
) -> None:
    """Every paid Stripe purchase of the last `max_age`: its refunds and disputes as Stripe
    lists them (all pages, no transaction open), applied through the webhooks' own handlers
    under the purchase's row lock. Refunds apply as the growth of the cumulative amount
    refunded, disputes move open → won/lost once: a refund or dispute that a webhook
    already applied (or applies meanwhile) changes nothing."""
    async with db.unit_of_work() as session:
        rows = await session.execute(
            select(Purchase.id, Purchase.payment_intent_id, Purchase.charge_id)
            .where(
                Purchase.provider == "stripe",
                Purchase.status.in_(service.PAID),
                Purchase.payment_intent_id.is_not(None),
                Purchase.created_at >= now - max_age,
            )
            .order_by(Purchase.created_at, Purchase.id)
            .limit(limit)
        )
        paid = [(pid, str(intent), charge) for pid, intent, charge in rows]
    for purchase_id, intent_id, charge_id in paid:
        report.paid_checked += 1
        try:
            refunds = await gateway.list_refunds(intent_id)
            disputes = await gateway.list_disputes(intent_id)
        except PaymentProviderUnavailable as exc:
            report.errors.append(f"{purchase_id}: {exc.detail}")
            continue
        counted = [r for r in refunds if r.get("status") in REFUND_COUNTED]
        charge = {
            "id": charge_id or object_id(counted[0].get("charge")) if counted else charge_id,
            "object": "charge",
            "payment_intent": intent_id,
            "amount_refunded": sum(int(r.get("amount") or 0) for r in counted),
            "metadata": {"purchase_id": purchase_id},
        }
        async with db.unit_of_work() as session:
            outcome = await service.apply_refund(
                session, Charge.parse(charge), now=now, settings=settings
            )
            report.refunds_applied += outcome.note.startswith("refund of")
            for dispute in sorted(disputes, key=lambda d: (d.get("created") or 0, d.get("id"))):
                closed = dispute.get("status") in ("won", "lost", "warning_closed")
                before = await session.get(Purchase, purchase_id)
                was = before.dispute_status if before else None
                await service.apply_dispute(
                    session, Dispute.parse(dispute), closed=closed, now=now, settings=settings
                )
                report.disputes_applied += was != (before.dispute_status if before else None)


# What Stripe counts in a charge's `amount_refunded` (a failed or cancelled refund is not).
REFUND_COUNTED = frozenset({"succeeded", "pending", "requires_action"})


async def _ask_stripe(gateway: StripeGateway, purchase: Purchase) -> PaymentIntent:
    if purchase.payment_intent_id is not None:
        return await gateway.retrieve_payment_intent(purchase.payment_intent_id)
    return await gateway.create_payment_intent(
        purchase_id=purchase.id, customer_id=purchase.customer_id, pack=purchase.pack,
        amount=purchase.amount, currency=purchase.currency,
    )  # fmt: skip


async def _retry_parked(
    db: Database,
    settings: Settings,
    now: datetime,
    report: SyncReport,
    *,
    max_age: timedelta,
    limit: int,
) -> None:
    async with db.unit_of_work() as session:
        ids = list(
            (
                await session.execute(
                    select(PaymentEvent.id)
                    .where(
                        PaymentEvent.state == EventState.parked.value,
                        PaymentEvent.received_at >= now - max_age,
                    )
                    .order_by(PaymentEvent.provider_created, PaymentEvent.id)
                    .limit(limit)
                )
            ).scalars()
        )
    for event_row_id in ids:
        async with db.unit_of_work() as session:
            outcome = await events.retry_parked(session, event_row_id, settings=settings, now=now)
        if outcome is not None and outcome.state is not EventState.parked:
            report.parked_applied += 1
