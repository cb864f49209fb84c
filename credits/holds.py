"""Disputes and refunds of money: freezing, releasing and revoking a lot's credits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from credits import accounts as acc
from credits.catalogue import split_value, vat_share
from credits.lots import get_lot
from credits.models import JournalLine, Lot
from credits.posting import Line, Posted, Take, credit_move, lock_customer, post


async def freeze_lot(
    session: AsyncSession, lot_id: str, *, now: datetime, reason: str, reference: str | None = None
) -> Posted | None:
    """Holds a lot's remaining credits (a payment dispute). None when nothing is left."""
    lot = await get_lot(session, lot_id)
    wallet = await lock_customer(session, lot.customer_id)
    lot = await get_lot(session, lot_id)
    k = lot.remaining
    if k == 0:
        return None
    cid = lot.customer_id
    lot.remaining, lot.frozen = 0, lot.frozen + k
    wallet.available -= k
    wallet.frozen += k
    lines = credit_move(cid, lot.id, k, debit=acc.frozen(cid), credit=acc.available(cid))
    txn = await post(
        session, wallet, lines, kind="freeze", reason=reason, now=now, credits=-k,
        lot_id=lot.id, purchase_id=lot.purchase_id, reference=reference,
    )  # fmt: skip
    return Posted(txn, [Take(lot.id, k, 0)], lot)


async def release_lot(
    session: AsyncSession, lot_id: str, *, now: datetime, reason: str, reference: str | None = None
) -> Posted | None:
    """Gives frozen credits back (dispute won). None when nothing is frozen."""
    lot = await get_lot(session, lot_id)
    wallet = await lock_customer(session, lot.customer_id)
    lot = await get_lot(session, lot_id)
    k = lot.frozen
    if k == 0:
        return None
    cid = lot.customer_id
    lot.remaining, lot.frozen = lot.remaining + k, 0
    wallet.available += k
    wallet.frozen -= k
    lines = credit_move(cid, lot.id, k, debit=acc.available(cid), credit=acc.frozen(cid))
    txn = await post(
        session, wallet, lines, kind="release", reason=reason, now=now, credits=k,
        lot_id=lot.id, purchase_id=lot.purchase_id, reference=reference,
    )  # fmt: skip
    return Posted(txn, [Take(lot.id, k, 0)], lot)


async def revoke_lot(
    session: AsyncSession,
    lot_id: str,
    *,
    now: datetime,
    reason: str,
    refund_amount: int,
    frozen_only: bool = False,
    reference: str | None = None,
    dedupe_key: str | None = None,
) -> Posted | None:
    """Money went back to the customer (a Stripe refund, a lost dispute): the lot's unused
    credits (or, with `frozen_only`, its frozen ones) are revoked and `refund_amount` leaves
    cash; what the credits were worth leaves deferred revenue, the rest is
    `revenue:refunds`. None when there is nothing to record."""
    if refund_amount < 0:
        raise ValueError("refund_amount must not be negative")
    lot = await get_lot(session, lot_id)
    wallet = await lock_customer(session, lot.customer_id)
    lot = await get_lot(session, lot_id)
    cid = lot.customer_id
    k = lot.frozen if frozen_only else lot.remaining
    value = split_value(lot.value_remaining, lot.remaining + lot.frozen, k) if k else 0
    held = acc.frozen(cid) if frozen_only else acc.available(cid)
    if frozen_only:
        lot.frozen -= k
        wallet.frozen -= k
    else:
        lot.remaining -= k
        wallet.available -= k
    lot.value_remaining -= value
    lines: list[Line] = []
    if k:
        lines += credit_move(cid, lot.id, k, debit=acc.REVOKED, credit=held)
    lines += await _refund_money_lines(session, lot, value, refund_amount)
    lines = [line for line in lines if line.amount]
    if not lines:
        return None
    txn = await post(
        session, wallet, lines, kind="revoke", reason=reason, now=now,
        credits=0 if frozen_only else -k, lot_id=lot.id, purchase_id=lot.purchase_id,
        reference=reference, dedupe_key=dedupe_key,
    )  # fmt: skip
    return Posted(txn, [Take(lot.id, k, value)], lot)


async def _refund_money_lines(
    session: AsyncSession, lot: Lot, value: int, refund_amount: int
) -> list[Line]:
    """The money lines of giving `refund_amount` back on `lot`, whose revoked credits were
    worth `value` (net): cash pays it out; the VAT in it (its share of what is still
    unrefunded of the payment, all of it when the rest goes back) leaves `vat:payable`;
    `value` leaves deferred revenue; the rest is `revenue:refunds`. A full refund of an
    unused lot reverses its sale exactly. Every refund of money goes through here."""
    cash = lot.cash_account or acc.CASH_OFFLINE
    vat = 0
    if refund_amount:
        paid, vat_owed = await _payment_left(session, lot.id, cash)
        vat = vat_share(refund_amount, vat_owed, paid)
    cid = lot.customer_id
    return [
        Line(acc.DEFERRED, lot.currency, value, lot.id, cid),
        Line(acc.VAT_PAYABLE, lot.currency, vat, lot.id, cid),
        Line(acc.REVENUE_REFUNDS, lot.currency, refund_amount - value - vat, lot.id, cid),
        Line(cash, lot.currency, -refund_amount, lot.id, cid),
    ]


async def _payment_left(session: AsyncSession, lot_id: str, cash: str) -> tuple[int, int]:
    """(cash still held from the lot's payment, VAT on it still owed), from its lines."""
    rows = await session.execute(
        select(JournalLine.account, func.sum(JournalLine.amount))
        .where(JournalLine.lot_id == lot_id, JournalLine.account.in_((cash, acc.VAT_PAYABLE)))
        .group_by(JournalLine.account)
    )
    sums = {account: int(total) for account, total in rows}
    return sums.get(cash, 0), -sums.get(acc.VAT_PAYABLE, 0)
