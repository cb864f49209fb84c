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
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, column, select, table
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from app.kit.errors import AppError, NotFound
from app.kit.events import EventType, record_event
from app.kit.ids import new_id
from app.settings import Settings
from billing.models import EventState, Purchase, PurchaseStatus
from billing.schemas import purchase_read
from credits import accounts as acc
from credits import service as ledger
from credits.catalogue import find_pack
from credits.models import Lot, Wallet

PAID = (PurchaseStatus.succeeded.value, PurchaseStatus.refunded.value)

# The customers table, read (never written) to map a Stripe customer to ours without
# importing app.customers, which sits above billing in the dependency order.
_customers = table("customers", column("id", String), column("external_ref", String))


class IdempotencyKeyReused(AppError):
    status, code = 422, "idempotency_key_reused"


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
    idempotency_scope: str | None = None,
    idempotency_key: str | None = None,
    metadata: dict[str, str] | None = None,
) -> tuple[Purchase, bool]:
    """A new pending purchase, or (same Idempotency-Key) the one made before: `(purchase,
    replayed)`. With the offline provider it is paid at once, through the same grant."""
    if idempotency_key is not None:
        earlier = await _by_idempotency_key(session, idempotency_scope, idempotency_key)
        if earlier is not None:
            return _same_request(earlier, customer_id, pack_code), True
    await _require_customer(session, customer_id)
    pack = find_pack(settings, pack_code)
    purchase = Purchase(
        id=new_id("pur"),
        customer_id=customer_id,
        pack=pack.code,
        credits=pack.credits,
        amount=pack.price,
        currency=settings.currency,
        valid_days=pack.valid_days,
        provider=settings.payment_provider,
        status=PurchaseStatus.pending.value,
        amount_refunded=0,
        idempotency_scope=idempotency_scope if idempotency_key is not None else None,
        idempotency_key=idempotency_key,
        metadata_=metadata or None,
        created_at=now,
        updated_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(purchase)
            await session.flush()
    except IntegrityError:
        # A concurrent request with the same key committed first (Postgres made us wait).
        earlier = await _by_idempotency_key(session, idempotency_scope, idempotency_key)
        if earlier is None:
            raise
        return _same_request(earlier, customer_id, pack_code), True
    if purchase.provider == "offline" or purchase.amount == 0:
        await settle(session, purchase, now=now, cash_account=acc.CASH_OFFLINE,
                     reference=f"offline:{purchase.id}")  # fmt: skip
    return purchase, False


async def _require_customer(session: AsyncSession, customer_id: str) -> None:
    found = await session.execute(
        select(Wallet.customer_id).where(Wallet.customer_id == customer_id)
    )
    if found.first() is None:
        raise NotFound("No such customer.")


async def _by_idempotency_key(
    session: AsyncSession, scope: str | None, key: str | None
) -> Purchase | None:
    stmt = (
        select(Purchase)
        .where(Purchase.idempotency_scope == scope, Purchase.idempotency_key == key)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


def _same_request(purchase: Purchase, customer_id: str, pack_code: str) -> Purchase:
    if purchase.customer_id != customer_id or purchase.pack != pack_code:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used with a different request."
        )
    return purchase


async def get_purchase(session: AsyncSession, purchase_id: str) -> Purchase:
    purchase = await session.get(Purchase, purchase_id)
    if purchase is None:
        raise NotFound("No such purchase.")
    return purchase


async def lock_purchase(session: AsyncSession, where: ColumnElement[bool]) -> Purchase | None:
    stmt = select(Purchase).where(where).with_for_update().execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def settle(
    session: AsyncSession, purchase: Purchase, *, now: datetime, cash_account: str, reference: str
) -> bool:
    """Grants the purchase's lot, once. The caller holds the purchase row (or just made it)."""
    if purchase.status in PAID:
        return False
    await ledger.grant(
        session,
        purchase.customer_id,
        credits=purchase.credits,
        amount=purchase.amount,
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
    _emit(session, EventType.purchase_succeeded, purchase, now, previous)
    return True


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


async def purchase_lots(session: AsyncSession, purchase_id: str) -> list[Lot]:
    """The purchase's lot, and any lot made later to return its credits after expiry."""
    stmt = (
        select(Lot)
        .where(Lot.purchase_id == purchase_id)
        .order_by(Lot.created_at, Lot.id)
        .execution_options(populate_existing=True)
    )
    return list((await session.execute(stmt)).scalars())


# ---------------------------------------------------------------- PaymentIntents


def object_id(value: Any) -> str | None:
    """An id field that may come expanded (`{"id": …}`) or not."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


async def apply_intent(session: AsyncSession, intent: dict[str, Any], *, now: datetime) -> Outcome:
    """A PaymentIntent as Stripe last described it (webhook or re-check): grants on
    `succeeded`, records a failure on a declined or cancelled one."""
    intent_id = object_id(intent.get("id"))
    metadata = intent.get("metadata") or {}
    if intent_id is None:
        return Outcome(EventState.rejected, "the PaymentIntent has no id")
    purchase = await lock_purchase(session, Purchase.payment_intent_id == intent_id)
    claimed = metadata.get("purchase_id")
    if purchase is None and isinstance(claimed, str):
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
    if purchase.client_secret is None and isinstance(intent.get("client_secret"), str):
        purchase.client_secret = intent["client_secret"]
    purchase.charge_id = object_id(intent.get("latest_charge")) or purchase.charge_id
    purchase.updated_at = now
    status = intent.get("status")
    if status == "succeeded":
        granted = await settle(
            session, purchase, now=now, cash_account=acc.CASH_STRIPE, reference=intent_id
        )
        note = "credits granted" if granted else "already granted"
        return Outcome(EventState.processed, note, purchase.id, unblocks=True)
    if _failed(intent) and purchase.status == PurchaseStatus.pending.value:
        purchase.status = PurchaseStatus.failed.value
        purchase.failure_reason = _failure_reason(intent)
        _emit(session, EventType.purchase_failed, purchase, now, {"status": "pending"})
    await session.flush()
    return Outcome(EventState.processed, f"payment is {status}", purchase.id, unblocks)


def _mismatch(purchase: Purchase, intent: dict[str, Any], intent_id: str) -> str | None:
    if purchase.provider != "stripe":
        return f"purchase {purchase.id} was not made through Stripe"
    if purchase.payment_intent_id not in (None, intent_id):
        return f"purchase {purchase.id} is paid through {purchase.payment_intent_id}"
    amount, currency = intent.get("amount"), str(intent.get("currency") or "")
    if amount != purchase.amount or currency.upper() != purchase.currency:
        return (
            f"the intent is for {amount} {currency}, the purchase for "
            f"{purchase.amount} {purchase.currency}"
        )
    return None


def _failed(intent: dict[str, Any]) -> bool:
    status = intent.get("status")
    return status == "canceled" or (
        status == "requires_payment_method" and bool(intent.get("last_payment_error"))
    )


def _failure_reason(intent: dict[str, Any]) -> str:
    if intent.get("status") == "canceled":
        return f"canceled ({intent.get('cancellation_reason') or 'no reason given'})"
    error = intent.get("last_payment_error") or {}
    text = error.get("message") or error.get("code") or "payment failed"
    return str(text)[:500]


# ---------------------------------------------------------------- charges: refunds, disputes


async def _purchase_for_charge(
    session: AsyncSession, intent_id: str | None, charge_id: str | None, metadata: Any
) -> Purchase | None:
    if intent_id is not None:
        found = await lock_purchase(session, Purchase.payment_intent_id == intent_id)
        if found is not None:
            return found
    if charge_id is not None:
        found = await lock_purchase(session, Purchase.charge_id == charge_id)
        if found is not None:
            return found
    claimed = metadata.get("purchase_id") if isinstance(metadata, dict) else None
    if isinstance(claimed, str):
        return await lock_purchase(session, Purchase.id == claimed)
    return None


def _unmatched(intent_id: str | None, charge_id: str | None) -> Outcome:
    if intent_id is None and charge_id is None:
        return Outcome(EventState.ignored, "not about a payment")
    return Outcome(
        EventState.parked, f"no purchase matches {intent_id or charge_id} yet; kept for later"
    )


async def apply_refund(session: AsyncSession, charge: dict[str, Any], *, now: datetime) -> Outcome:
    """`charge.refunded`: revokes the purchase's unused credits and records the money that
    went back. Stripe's `amount_refunded` is cumulative; only its growth is applied."""
    charge_id, intent_id = object_id(charge.get("id")), object_id(charge.get("payment_intent"))
    purchase = await _purchase_for_charge(session, intent_id, charge_id, charge.get("metadata"))
    if purchase is None:
        return _unmatched(intent_id, charge_id)
    if purchase.status not in PAID:
        return Outcome(EventState.parked, "the payment is not confirmed yet", purchase.id)
    total = charge.get("amount_refunded")
    if not isinstance(total, int) or total < 0:
        return Outcome(EventState.rejected, "the charge has no amount_refunded", purchase.id)
    delta = total - purchase.amount_refunded
    if delta <= 0:
        return Outcome(EventState.processed, "refund already recorded", purchase.id)
    for i, lot in enumerate(await purchase_lots(session, purchase.id)):
        await ledger.revoke_lot(
            session, lot.id, now=now, reason="stripe_refund",
            refund_amount=delta if i == 0 else 0, reference=charge_id,
            dedupe_key=f"refund:{purchase.id}:{total}:{lot.id}",
        )  # fmt: skip
    previous: dict[str, Any] = {
        "amount_refunded": {"amount": purchase.amount_refunded, "currency": purchase.currency}
    }
    purchase.amount_refunded = total
    purchase.charge_id = purchase.charge_id or charge_id
    if total >= purchase.amount:
        previous["status"] = purchase.status
        purchase.status = PurchaseStatus.refunded.value
    purchase.updated_at = now
    _emit(session, EventType.purchase_refunded, purchase, now, previous)
    await session.flush()
    return Outcome(EventState.processed, f"refund of {delta} recorded", purchase.id)


DISPUTE_CLOSED = frozenset({"won", "lost"})


async def apply_dispute(
    session: AsyncSession, dispute: dict[str, Any], *, closed: bool, now: datetime
) -> Outcome:
    """`charge.dispute.created` freezes the purchase's remaining credits; `…closed`
    releases them (won) or revokes them and records the money taken back (lost)."""
    charge_id, intent_id = (
        object_id(dispute.get("charge")),
        object_id(dispute.get("payment_intent")),
    )
    purchase = await _purchase_for_charge(session, intent_id, charge_id, dispute.get("metadata"))
    if purchase is None:
        return _unmatched(intent_id, charge_id)
    if purchase.status not in PAID:
        return Outcome(EventState.parked, "the payment is not confirmed yet", purchase.id)
    if purchase.dispute_status in DISPUTE_CLOSED:
        return Outcome(EventState.processed, "dispute already closed", purchase.id)
    dispute_id = object_id(dispute.get("id")) or "dispute"
    result = dispute.get("status")
    won = closed and result in ("won", "warning_closed")
    lost = closed and result == "lost"
    if closed and not (won or lost):
        return Outcome(EventState.processed, f"dispute status {result}: nothing to do", purchase.id)
    lots = await purchase_lots(session, purchase.id)
    if purchase.dispute_status is None and not won:
        for lot in lots:
            await ledger.freeze_lot(
                session, lot.id, now=now, reason="dispute", reference=dispute_id
            )
    purchase.dispute_id, purchase.updated_at = dispute_id, now
    if won:
        for lot in lots:
            await ledger.release_lot(session, lot.id, now=now, reason="dispute_won",
                                     reference=dispute_id)  # fmt: skip
    elif lost:
        amount = dispute.get("amount")
        taken = amount if isinstance(amount, int) and amount > 0 else purchase.amount
        for i, lot in enumerate(lots):
            await ledger.revoke_lot(
                session, lot.id, now=now, reason="dispute_lost", frozen_only=True,
                refund_amount=taken if i == 0 else 0, reference=dispute_id,
                dedupe_key=f"dispute:{purchase.id}:{dispute_id}:{lot.id}",
            )  # fmt: skip
    purchase.dispute_status = "won" if won else "lost" if lost else "open"
    await session.flush()
    return Outcome(EventState.processed, f"dispute {purchase.dispute_status}", purchase.id)


# ---------------------------------------------------------------- invoices: qualifying spend

CUSTOMER_METADATA_KEY = "creditdesk_customer_id"


async def apply_invoice_paid(
    session: AsyncSession, invoice: dict[str, Any], *, now: datetime, settings: Settings
) -> Outcome:
    """A paid product invoice counts as qualifying spend towards free credits. The customer
    is `metadata.creditdesk_customer_id`, else the CreditDesk customer whose `external_ref`
    is the invoice's Stripe customer id. The invoice id is the spend reference (once)."""
    invoice_id = object_id(invoice.get("id"))
    metadata = invoice.get("metadata") or {}
    if invoice_id is None:
        return Outcome(EventState.rejected, "the invoice has no id")
    if metadata.get("purchase_id"):
        return Outcome(EventState.ignored, "support-credit packs are not qualifying spend")
    amount, currency = invoice.get("amount_paid"), str(invoice.get("currency") or "").upper()
    if not isinstance(amount, int) or amount <= 0:
        return Outcome(EventState.ignored, "nothing was paid")
    if currency != settings.currency:
        return Outcome(
            EventState.ignored, f"spend in {currency}, the ledger is in {settings.currency}"
        )
    customer_id = await _customer_for_invoice(session, invoice)
    if customer_id is None:
        stripe_customer = object_id(invoice.get("customer"))
        return Outcome(
            EventState.parked,
            f"no CreditDesk customer for Stripe customer {stripe_customer} "
            f"(set its external_ref, or {CUSTOMER_METADATA_KEY} on the invoice)",
        )
    result = await ledger.record_spend(
        session, customer_id, amount=amount, reference=invoice_id,
        occurred_at=_paid_at(invoice) or now, now=now,
        threshold=settings.reward_threshold_cents, currency=settings.currency, source="stripe",
    )  # fmt: skip
    if not result.recorded:
        return Outcome(EventState.processed, "spend already recorded")
    return Outcome(
        EventState.processed, f"spend of {amount} recorded, {result.credits_granted} credit(s)"
    )


async def _customer_for_invoice(session: AsyncSession, invoice: dict[str, Any]) -> str | None:
    claimed = (invoice.get("metadata") or {}).get(CUSTOMER_METADATA_KEY)
    if isinstance(claimed, str):
        found = await session.execute(
            select(Wallet.customer_id).where(Wallet.customer_id == claimed)
        )
        if found.first() is not None:
            return claimed
    stripe_customer = object_id(invoice.get("customer"))
    if stripe_customer is None:
        return None
    row = await session.execute(
        select(_customers.c.id).where(_customers.c.external_ref == stripe_customer)
    )
    return row.scalar_one_or_none()


def _paid_at(invoice: dict[str, Any]) -> datetime | None:
    paid_at = (invoice.get("status_transitions") or {}).get("paid_at")
    if isinstance(paid_at, int) and paid_at > 0:
        return datetime.fromtimestamp(paid_at, UTC)
    return None
