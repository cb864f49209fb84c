"""Purchases and what payments do to them. Everything here runs inside the caller's
transaction and flushes, never commits; nothing here talks to Stripe.

Each handler converges a purchase towards what the provider's object says, under the
purchase's row lock, so that it is safe to apply the same object any number of times, in
any order, from a webhook or from `creditdesk sync-payments`:

- success grants once (status check + the ledger's unique `dedupe_key`);
- refunds apply `amount_refunded` deltas, so repeats and stale events change nothing;
- disputes move through `open` → `won`/`lost` once.
An object that cannot be applied yet (its purchase is unknown or not paid yet) is parked by
the caller and applied again when the purchase moves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from app.kit.errors import NotFound
from app.kit.events import EventType, record_event
from app.kit.ids import new_id
from app.kit.observability import REFUNDS
from app.kit.pagination import Page, cursor_instant_id, encode_cursor
from app.settings import Settings
from billing import credit_notes, receipts
from billing.hooks import FIND_CUSTOMER, CustomerByExternalRef
from billing.models import CreditNoteKind, EventState, Purchase, PurchaseStatus
from billing.schemas import PurchaseRead, purchase_read
from billing.stripe_objects import CUSTOMER_METADATA_KEY, Charge, Dispute, Invoice, PaymentIntent
from credits import accounts as acc
from credits import queries as ledger_queries
from credits import refunds as money_refunds
from credits import service as ledger
from credits.catalogue import find_pack, split_vat

PAID = (
    PurchaseStatus.succeeded.value,
    PurchaseStatus.partially_refunded.value,
    PurchaseStatus.refunded.value,
    PurchaseStatus.disputed.value,
)


@dataclass(slots=True)
class Outcome:
    """What applying one provider object did."""

    state: EventState
    note: str
    purchase_id: str | None = None
    unblocks: bool = False  # the purchase moved: parked events may apply now


# ---------------------------------------------------------------- purchases


async def open_purchase(
    session: AsyncSession,
    *,
    customer_id: str,
    pack_code: str,
    settings: Settings,
    now: datetime,
    metadata: dict[str, str] | None = None,
) -> Purchase:
    """A new pending purchase. With the offline provider it is paid at once, through the
    same grant. (Its `Idempotency-Key`, if any, is the endpoint's: `app.kit.idempotency`.)"""
    await _require_customer(session, customer_id)
    pack = find_pack(settings, pack_code)
    purchase = Purchase(
        id=new_id("pur"),
        customer_id=customer_id,
        pack=pack.code,
        credits=pack.credits,
        amount=pack.price,
        vat_amount=split_vat(pack.price, settings.vat_rate)[1],
        currency=settings.currency,
        valid_days=pack.valid_days,
        provider=settings.payment_provider,
        status=PurchaseStatus.pending.value,
        amount_refunded=0,
        metadata_=metadata or None,
        created_at=now,
        updated_at=now,
    )
    session.add(purchase)
    await session.flush()
    if purchase.provider == "offline" or purchase.amount == 0:
        await settle(session, purchase, now=now, cash_account=acc.CASH_OFFLINE,
                     reference=f"offline:{purchase.id}", settings=settings)  # fmt: skip
    return purchase


async def list_purchases(
    session: AsyncSession, customer_id: str, *, limit: int, cursor: str | None
) -> Page[PurchaseRead]:
    """Newest first; the cursor is the last row's (created_at, id)."""
    stmt = (
        select(Purchase)
        .where(Purchase.customer_id == customer_id)
        .order_by(Purchase.created_at.desc(), Purchase.id.desc())
        .limit(limit + 1)
    )
    position = cursor_instant_id(cursor, "before", "id")
    if position is not None:
        before, before_id = position
        stmt = stmt.where(
            or_(
                Purchase.created_at < before,
                and_(Purchase.created_at == before, Purchase.id < before_id),
            )
        )
    rows = list((await session.execute(stmt)).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    return Page(
        data=[purchase_read(p) for p in rows],
        next_cursor=(
            encode_cursor({"before": last.created_at.isoformat(), "id": last.id})
            if more and last is not None
            else None
        ),
    )


async def require_customer(session: AsyncSession, customer_id: str) -> None:
    await _require_customer(session, customer_id)


async def _require_customer(session: AsyncSession, customer_id: str) -> None:
    if not await ledger_queries.has_wallet(session, customer_id):
        raise NotFound("No such customer.")


async def get_purchase(session: AsyncSession, purchase_id: str) -> Purchase:
    purchase = await session.get(Purchase, purchase_id)
    if purchase is None:
        raise NotFound("No such purchase.")
    return purchase


async def lock_purchase(session: AsyncSession, where: ColumnElement[bool]) -> Purchase | None:
    stmt = select(Purchase).where(where).with_for_update().execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def settle(
    session: AsyncSession,
    purchase: Purchase,
    *,
    now: datetime,
    cash_account: str,
    reference: str,
    settings: Settings,
) -> bool:
    """Grants the purchase's lot, once. The caller holds the purchase row (or just made it)."""
    if purchase.status in PAID:
        return False
    await ledger.grant(
        session,
        purchase.customer_id,
        credits=purchase.credits,
        amount=purchase.amount - purchase.vat_amount,
        vat=purchase.vat_amount,
        currency=purchase.currency,
        source="purchase",
        now=now,
        valid_days=purchase.valid_days,
        cash_account=cash_account,
        purchase_id=purchase.id,
        reference=reference,
        dedupe_key=f"purchase:{purchase.id}",
    )
    previous = {"status": purchase.status}
    purchase.status = PurchaseStatus.succeeded.value
    purchase.succeeded_at = now
    purchase.updated_at = now
    purchase.failure_reason = None
    await session.flush()
    await receipts.issue(session, purchase, settings=settings, now=now)
    _emit(session, EventType.purchase_succeeded, purchase, now, previous)
    return True


def fail_pending(session: AsyncSession, purchase: Purchase, reason: str, *, now: datetime) -> None:
    """A pending purchase's payment failed (declined or cancelled): `failed` with the reason,
    and its `purchase.failed` event in the same transaction."""
    purchase.status = PurchaseStatus.failed.value
    purchase.failure_reason = reason
    purchase.updated_at = now
    previous = {"status": PurchaseStatus.pending.value}
    _emit(session, EventType.purchase_failed, purchase, now, previous)


def _emit(
    session: AsyncSession,
    type: EventType,
    purchase: Purchase,
    now: datetime,
    previous: dict[str, Any] | None = None,
) -> None:
    """A `purchase.*` event. The payment's `client_secret` is never put in an event."""
    obj = purchase_read(purchase).model_copy(update={"client_secret": None})
    record_event(
        session, type, customer_id=purchase.customer_id, obj=obj, now=now, previous=previous
    )


# ---------------------------------------------------------------- PaymentIntents


async def apply_intent(
    session: AsyncSession, intent: PaymentIntent, *, now: datetime, settings: Settings
) -> Outcome:
    """A PaymentIntent as Stripe last described it (webhook or re-check): grants on
    `succeeded`, records a failure on a declined or cancelled one."""
    intent_id = intent.id
    if intent_id is None:
        return Outcome(EventState.rejected, "the PaymentIntent has no id")
    purchase = await lock_purchase(session, Purchase.payment_intent_id == intent_id)
    claimed = intent.purchase_id
    if purchase is None and claimed is not None:
        purchase = await lock_purchase(session, Purchase.id == claimed)
        if purchase is None:
            return Outcome(EventState.parked, f"purchase {claimed} is not known here yet")
    if purchase is None:
        return Outcome(EventState.ignored, "not a CreditDesk purchase")
    problem = _mismatch(purchase, intent, intent_id)
    if problem is not None:
        return Outcome(EventState.rejected, problem, purchase.id)
    unblocks = purchase.payment_intent_id is None
    if unblocks:
        purchase.payment_intent_id = intent_id
    if purchase.client_secret is None and intent.client_secret is not None:
        purchase.client_secret = intent.client_secret
    purchase.charge_id = intent.latest_charge or purchase.charge_id
    purchase.updated_at = now
    status = intent.status
    if status == "succeeded":
        granted = await settle(
            session, purchase, now=now, cash_account=acc.CASH_STRIPE, reference=intent_id,
            settings=settings,
        )  # fmt: skip
        note = "credits granted" if granted else "already granted"
        return Outcome(EventState.processed, note, purchase.id, unblocks=True)
    if _failed(intent) and purchase.status == PurchaseStatus.pending.value:
        fail_pending(session, purchase, _failure_reason(intent), now=now)
    await session.flush()
    return Outcome(EventState.processed, f"payment is {status}", purchase.id, unblocks)


def _mismatch(purchase: Purchase, intent: PaymentIntent, intent_id: str) -> str | None:
    if purchase.provider != "stripe":
        return f"purchase {purchase.id} was not made through Stripe"
    if purchase.payment_intent_id not in (None, intent_id):
        return f"purchase {purchase.id} is paid through {purchase.payment_intent_id}"
    amount, currency = intent.amount, intent.currency
    if amount != purchase.amount or currency.upper() != purchase.currency:
        return (
            f"the intent is for {amount} {currency}, the purchase for "
            f"{purchase.amount} {purchase.currency}"
        )
    return None


def _failed(intent: PaymentIntent) -> bool:
    return intent.status == "canceled" or (
        intent.status == "requires_payment_method" and intent.failed_attempt
    )


def _failure_reason(intent: PaymentIntent) -> str:
    if intent.status == "canceled":
        return f"canceled ({intent.cancellation_reason or 'no reason given'})"
    return (intent.payment_error or "payment failed")[:500]


# ---------------------------------------------------------------- charges: refunds, disputes


async def _purchase_for_charge(
    session: AsyncSession, intent_id: str | None, charge_id: str | None, claimed: str | None
) -> Purchase | None:
    if intent_id is not None:
        found = await lock_purchase(session, Purchase.payment_intent_id == intent_id)
        if found is not None:
            return found
    if charge_id is not None:
        found = await lock_purchase(session, Purchase.charge_id == charge_id)
        if found is not None:
            return found
    if claimed is not None:
        return await lock_purchase(session, Purchase.id == claimed)
    return None


def _unmatched(intent_id: str | None, charge_id: str | None) -> Outcome:
    if intent_id is None and charge_id is None:
        return Outcome(EventState.ignored, "not about a payment")
    return Outcome(
        EventState.parked, f"no purchase matches {intent_id or charge_id} yet; kept for later"
    )


async def apply_refund(
    session: AsyncSession, charge: Charge, *, now: datetime, settings: Settings | None = None
) -> Outcome:
    """`charge.refunded` (or the charge as `sync-payments` fetched it): applies the refund
    rule to the money refunded since last time. Stripe's `amount_refunded` is cumulative;
    only its growth is applied, so repeated, stale and out-of-order events are safe."""
    charge_id, intent_id = charge.id, charge.payment_intent
    purchase = await _purchase_for_charge(session, intent_id, charge_id, charge.purchase_id)
    if purchase is None:
        return _unmatched(intent_id, charge_id)
    if purchase.status not in PAID:
        return Outcome(EventState.parked, "the payment is not confirmed yet", purchase.id)
    total = charge.amount_refunded
    if total is None or total < 0:
        return Outcome(EventState.rejected, "the charge has no amount_refunded", purchase.id)
    if total > purchase.amount:
        return Outcome(
            EventState.rejected,
            f"amount_refunded {total} exceeds the purchase's {purchase.amount}",
            purchase.id,
        )
    delta = total - purchase.amount_refunded
    if delta <= 0:
        return Outcome(EventState.processed, "refund already recorded", purchase.id)
    posted = await refund_purchase(session, purchase, total=total, delta=delta,
                                   reference=charge_id, now=now, settings=settings)  # fmt: skip
    purchase.charge_id = purchase.charge_id or charge_id
    await session.flush()
    revoked = sum(t.credits for t in posted.takes)
    return Outcome(
        EventState.processed, f"refund of {delta} recorded, {revoked} credit(s) revoked",
        purchase.id,
    )  # fmt: skip


async def refund_purchase(
    session: AsyncSession,
    purchase: Purchase,
    *,
    total: int,
    delta: int,
    reference: str | None,
    now: datetime,
    settings: Settings | None = None,
) -> ledger.Posted:
    """The one place a refund of a purchase's money is applied: the ledger's refund rule
    (`credits.refunds.revoke_for_refund`: unused credits covering the money, rounded up,
    in consumption order; the rest reverses recognised revenue), then the purchase's
    `amount_refunded` and status, and its credit note. The caller holds the purchase row;
    `delta` is new."""
    await credit_notes.issue(
        session, purchase, kind=CreditNoteKind.refund, source_key=f"refund:{purchase.id}:{total}",
        gross=delta, vat=credit_notes.refund_vat(purchase, total=total, delta=delta),
        reference=reference, settings=settings, now=now,
    )  # fmt: skip
    posted = await money_refunds.revoke_for_refund(
        session, purchase.id, customer_id=purchase.customer_id, refunded_total=total,
        refund_amount=delta, cash_account=acc.CASH_STRIPE if purchase.provider == "stripe"
        else acc.CASH_OFFLINE, currency=purchase.currency, now=now, reference=reference,
        dedupe_key=f"refund:{purchase.id}:{total}", paid=purchase.amount, vat=purchase.vat_amount,
    )  # fmt: skip
    previous: dict[str, Any] = {
        "amount_refunded": {"amount": purchase.amount_refunded, "currency": purchase.currency}
    }
    status = purchase.status
    purchase.amount_refunded = total
    purchase.updated_at = now
    refresh_status(purchase)
    if purchase.status != status:
        previous["status"] = status
    _emit(session, EventType.purchase_refunded, purchase, now, previous)
    return posted


def refresh_status(purchase: Purchase) -> None:
    """A paid purchase's status from its refunds and dispute: `disputed` while a dispute is
    open or once it is lost, else `refunded` / `partially_refunded` by the money refunded,
    else `succeeded` (paid and untouched, or a dispute won)."""
    if purchase.status not in PAID:
        return
    if purchase.dispute_status in ("open", "lost"):
        purchase.status = PurchaseStatus.disputed.value
    elif purchase.amount_refunded >= purchase.amount:
        purchase.status = PurchaseStatus.refunded.value
    elif purchase.amount_refunded > 0:
        purchase.status = PurchaseStatus.partially_refunded.value
    else:
        purchase.status = PurchaseStatus.succeeded.value


DISPUTE_CLOSED = frozenset({"won", "lost"})


async def apply_dispute(
    session: AsyncSession,
    dispute: Dispute,
    *,
    closed: bool,
    now: datetime,
    settings: Settings | None = None,
) -> Outcome:
    """`charge.dispute.created` freezes the purchase's remaining credits; `…closed`
    releases them (won) or revokes them and records the money taken back (lost)."""
    charge_id, intent_id = dispute.charge, dispute.payment_intent
    purchase = await _purchase_for_charge(session, intent_id, charge_id, dispute.purchase_id)
    if purchase is None:
        return _unmatched(intent_id, charge_id)
    if purchase.status not in PAID:
        return Outcome(EventState.parked, "the payment is not confirmed yet", purchase.id)
    if purchase.dispute_status in DISPUTE_CLOSED:
        return Outcome(EventState.processed, "dispute already closed", purchase.id)
    dispute_id = dispute.id or "dispute"
    result = dispute.status
    won = closed and result in ("won", "warning_closed")
    lost = closed and result == "lost"
    if closed and not (won or lost):
        return Outcome(EventState.processed, f"dispute status {result}: nothing to do", purchase.id)
    lots = await ledger_queries.purchase_lots(session, purchase.id)
    if purchase.dispute_status is None and not won:
        for lot in lots:
            await ledger.freeze_lot(
                session, lot.id, now=now, reason="dispute", reference=dispute_id
            )
    purchase.dispute_id, purchase.updated_at = dispute_id, now
    if dispute.reason is not None:
        purchase.dispute_reason = dispute.reason[:40]
    if won:
        for lot in lots:
            await ledger.release_lot(session, lot.id, now=now, reason="dispute_won",
                                     reference=dispute_id)  # fmt: skip
    elif lost:
        amount = dispute.amount
        left = purchase.amount - purchase.amount_refunded  # what Stripe can still take
        taken = min(amount, left) if amount is not None and amount > 0 else left
        if taken > 0:
            await credit_notes.issue(
                session, purchase, kind=CreditNoteKind.dispute_lost,
                source_key=f"dispute:{purchase.id}:{dispute_id}", gross=taken,
                vat=credit_notes.dispute_vat(purchase, taken=taken), reference=dispute_id,
                settings=settings, now=now,
            )  # fmt: skip
        for i, lot in enumerate(lots):
            await ledger.revoke_lot(
                session, lot.id, now=now, reason="dispute_lost", frozen_only=True,
                refund_amount=taken if i == 0 else 0, reference=dispute_id,
                dedupe_key=f"dispute:{purchase.id}:{dispute_id}:{lot.id}",
            )  # fmt: skip
        purchase.amount_disputed = taken
        REFUNDS.labels("dispute_lost").inc()
    purchase.dispute_status = "won" if won else "lost" if lost else "open"
    refresh_status(purchase)
    await session.flush()
    return Outcome(EventState.processed, f"dispute {purchase.dispute_status}", purchase.id)


# ---------------------------------------------------------------- invoices: qualifying spend


async def apply_invoice_paid(
    session: AsyncSession, invoice: Invoice, *, now: datetime, settings: Settings
) -> Outcome:
    """A paid product invoice counts as qualifying spend towards free credits. The customer
    is `metadata.creditdesk_customer_id`, else the CreditDesk customer whose `external_ref`
    is the invoice's Stripe customer id. The invoice id is the spend reference (once)."""
    invoice_id = invoice.id
    if invoice_id is None:
        return Outcome(EventState.rejected, "the invoice has no id")
    if invoice.for_purchase:
        return Outcome(EventState.ignored, "support-credit packs are not qualifying spend")
    amount, currency = invoice.amount_paid, invoice.currency
    if amount is None or amount <= 0:
        return Outcome(EventState.ignored, "nothing was paid")
    if currency != settings.currency:
        return Outcome(
            EventState.ignored, f"spend in {currency}, the ledger is in {settings.currency}"
        )
    customer_id = await _customer_for_invoice(session, invoice)
    if customer_id is None:
        stripe_customer = invoice.customer
        return Outcome(
            EventState.parked,
            f"no CreditDesk customer for Stripe customer {stripe_customer} "
            f"(set its external_ref, or {CUSTOMER_METADATA_KEY} on the invoice)",
        )
    result = await ledger.record_spend(
        session, customer_id, amount=amount, reference=invoice_id,
        occurred_at=invoice.paid_at or now, now=now,
        threshold=settings.reward_threshold_cents, currency=settings.currency, source="stripe",
    )  # fmt: skip
    if not result.recorded:
        return Outcome(EventState.processed, "spend already recorded")
    return Outcome(
        EventState.processed, f"spend of {amount} recorded, {result.credits_granted} credit(s)"
    )


async def _customer_for_invoice(session: AsyncSession, invoice: Invoice) -> str | None:
    claimed = invoice.claimed_customer
    if claimed is not None and await ledger_queries.has_wallet(session, claimed):
        return claimed
    if invoice.customer is None:
        return None
    question = CustomerByExternalRef(invoice.customer)
    await FIND_CUSTOMER.publish(session, question)  # answered by the customers feature
    return question.customer_id
