"""Grants (new lots) and spend rewards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.events import EventType, record_event
from app.kit.ids import new_id
from app.kit.observability import CREDITS_GRANTED
from credits import accounts as acc
from credits.errors import (
    CreditLimit,
    SpendBelowZero,
    SpendLimit,
    SpendReferenceReused,
)
from credits.models import Lot, SpendRecord, Wallet
from credits.posting import (
    MAX_SPEND_TOTAL,
    MAX_WALLET_CREDITS,
    Line,
    Posted,
    Take,
    credit_move,
    lock_customer,
    post,
)
from credits.schemas import entry_read


async def grant(
    session: AsyncSession,
    customer_id: str,
    *,
    credits: int,
    amount: int,
    currency: str,
    source: str,
    now: datetime,
    valid_days: int | None = None,
    cash_account: str | None = None,
    purchase_id: str | None = None,
    reference: str | None = None,
    memo: str | None = None,
    dedupe_key: str | None = None,
    actor: str | None = None,
    wallet: Wallet | None = None,
    kind: str = "grant",
    vat: int = 0,
) -> Posted:
    """A new lot of `credits` worth `amount` cents in all (0 for free credits). `vat`: the
    VAT the customer paid on top of `amount` (the net): cash takes both, deferred revenue
    the net, `vat:payable` the VAT."""
    if credits <= 0 or amount < 0 or vat < 0:
        raise ValueError("a grant needs credits > 0 and amount, vat >= 0")
    if amount + vat > 0 and cash_account is None:
        raise ValueError("a paid grant needs the cash account the money came into")
    wallet = wallet or await lock_customer(session, customer_id)
    if wallet.available + wallet.frozen + credits > MAX_WALLET_CREDITS:
        raise CreditLimit(
            f"A wallet holds at most {MAX_WALLET_CREDITS} credits; this grant of {credits} "
            "would go past it."
        )
    lot = Lot(
        id=new_id("lot"),
        customer_id=customer_id,
        source=source,
        credits=credits,
        remaining=credits,
        frozen=0,
        amount=amount,
        value_remaining=amount,
        unit_value=amount // credits,
        currency=currency,
        cash_account=cash_account,
        purchase_id=purchase_id,
        valid_days=valid_days,
        expires_at=now + timedelta(days=valid_days) if valid_days else None,
        created_at=now,
    )
    session.add(lot)
    wallet.available += credits
    lines = credit_move(
        customer_id, lot.id, credits, debit=acc.available(customer_id), credit=acc.ISSUED
    )
    if (amount or vat) and cash_account:
        lines += [
            Line(cash_account, currency, amount + vat, lot.id, customer_id),
            Line(acc.DEFERRED, currency, -amount, lot.id, customer_id),
            Line(acc.VAT_PAYABLE, currency, -vat, lot.id, customer_id),
        ]
    txn = await post(
        session, wallet, lines, kind=kind, reason=source, now=now, credits=credits,
        lot_id=lot.id, purchase_id=purchase_id, reference=reference, memo=memo,
        dedupe_key=dedupe_key, actor=actor,
    )  # fmt: skip
    record_event(
        session, EventType.credits_granted, customer_id=customer_id, obj=entry_read(txn), now=now
    )
    CREDITS_GRANTED.labels(source).inc(credits)
    return Posted(txn, [Take(lot.id, credits, amount)], lot)


@dataclass(frozen=True, slots=True)
class SpendResult:
    total: int
    rewarded_credits: int
    credits_granted: int
    recorded: bool


async def record_spend(
    session: AsyncSession,
    customer_id: str,
    *,
    amount: int,
    reference: str,
    occurred_at: datetime,
    now: datetime,
    threshold: int,
    currency: str,
    source: str = "api",
) -> SpendResult:
    """1 free credit per full `threshold` of cumulative qualifying spend. A refund lowers
    the total; credits already granted stay, and the next one waits until the total
    passes what was rewarded. A reference seen before with the same amount changes nothing
    (a retry); with another amount, from the API, it is refused (409
    `spend_reference_reused`): one reference is one invoice, never two amounts."""
    wallet = await lock_customer(session, customer_id)
    seen = await session.scalar(
        select(SpendRecord.amount).where(
            SpendRecord.customer_id == customer_id, SpendRecord.reference == reference
        )
    )
    if seen is not None:
        if seen != amount and source == "api":
            raise SpendReferenceReused(
                f"Spend {reference!r} was recorded as {seen} {currency}, not {amount}; a "
                "reference counts once. Nothing was changed.",
                amount=seen,
                currency=currency,
            )
        return SpendResult(wallet.spend_total, wallet.rewarded_credits, 0, recorded=False)
    total = wallet.spend_total + amount
    if total < 0:
        if source == "api":
            raise SpendBelowZero(
                f"A refund of {-amount} is more than the recorded spend of "
                f"{wallet.spend_total}; nothing was changed.",
                total=wallet.spend_total,
            )
        total = 0  # money refunded that was never counted (e.g. before CreditDesk)
    if total > MAX_SPEND_TOTAL or total // threshold > MAX_WALLET_CREDITS:
        raise SpendLimit(
            f"The cumulative spend would pass the limit of {MAX_SPEND_TOTAL} cents "
            f"or {MAX_WALLET_CREDITS} credits; nothing was changed."
        )
    session.add(
        SpendRecord(
            customer_id=customer_id, reference=reference, amount=amount, source=source,
            occurred_at=occurred_at, recorded_at=now,
        )
    )  # fmt: skip
    wallet.spend_total = total
    earned = max(wallet.spend_total, 0) // threshold
    granted = max(earned - wallet.rewarded_credits, 0)
    if granted:
        wallet.rewarded_credits = earned
        await grant(
            session, customer_id, credits=granted, amount=0, currency=currency,
            source="spend_reward", now=now, reference=reference, wallet=wallet,
        )  # fmt: skip
    await session.flush()
    return SpendResult(wallet.spend_total, wallet.rewarded_credits, granted, recorded=True)
