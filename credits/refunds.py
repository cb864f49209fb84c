"""Money given back for a purchase (a Stripe refund, full or partial): the refund rule.

**The rule** (docs/payments.md): a refund revokes the purchase's unused credits whose value
covers the refunded amount, rounded up to whole credits and never more than remain, taking
them in the ledger's one consumption order. Refunds are cumulative: the credits revoked by
all the purchase's refunds so far must cover all the money refunded so far, so a second
partial refund counts what the first one already took. Money refunded beyond the value of
the unused credits reverses recognised revenue: it is debited to `revenue:refunds` (the
contra-revenue account of money given back); when a rounded-up credit is worth more than
the money it covers, the surplus is credited there instead, and a later refund nets it.

Journal of one refund of `d` cents that revokes credits worth `v`:
`credits:revoked +k / customer:<id>:available −k`, `deferred_revenue +v`,
`revenue:refunds +(d − v)`, `cash:stripe −d`."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.observability import REFUNDS
from credits import accounts as acc
from credits.catalogue import split_value
from credits.charges import refund_outstanding
from credits.errors import LedgerImbalance
from credits.lots import consumption_order, expire_locked
from credits.models import JournalLine, JournalTransaction, Lot
from credits.posting import Line, Posted, Take, credit_move, lock_customer, post

__all__ = ["REFUND_REASON", "covered_by_refunds", "refund_outstanding", "revoke_for_refund"]

REFUND_REASON = "stripe_refund"


async def covered_by_refunds(session: AsyncSession, purchase_id: str) -> int:
    """The value of the credits the purchase's refunds revoked so far (cents)."""
    stmt = (
        select(func.coalesce(func.sum(JournalLine.amount), 0))
        .join(JournalTransaction, JournalTransaction.seq == JournalLine.transaction_seq)
        .where(
            JournalTransaction.kind == "revoke",
            JournalTransaction.reason == REFUND_REASON,
            JournalTransaction.purchase_id == purchase_id,
            JournalLine.account == acc.DEFERRED,
        )
    )
    return int((await session.execute(stmt)).scalar_one())


async def revoke_for_refund(
    session: AsyncSession,
    purchase_id: str,
    *,
    customer_id: str,
    refunded_total: int,
    refund_amount: int,
    cash_account: str,
    currency: str,
    now: datetime,
    reference: str | None = None,
    dedupe_key: str | None = None,
    paid: int = 0,
    vat: int = 0,
) -> Posted:
    """Applies the refund rule for a refund of `refund_amount` that brings the purchase's
    refunds to `refunded_total`: one `revoke` transaction. The caller holds the purchase
    row and has checked that `refund_amount > 0` is new.

    VAT (a purchase of `paid` gross holding `vat`): the refunded money carries its share of
    the VAT, counted cumulatively (`vat_refunded(total)` minus `vat_refunded(total before)`,
    so refunds in any number of parts give back exactly `vat`), which leaves `vat:payable`;
    the credits revoked cover the net part only (their value is net)."""
    if refund_amount <= 0 or refunded_total < refund_amount:
        raise ValueError("a refund needs 0 < refund_amount <= refunded_total")
    vat_back = vat_refunded(refunded_total, vat, paid) - vat_refunded(
        refunded_total - refund_amount, vat, paid
    )
    wallet = await lock_customer(session, customer_id)
    await expire_locked(session, wallet, now)  # lapsed credits are not there to revoke
    stmt = (
        select(Lot)
        .where(Lot.purchase_id == purchase_id)
        .order_by(*consumption_order())
        .execution_options(populate_existing=True)
    )
    lots = list((await session.execute(stmt)).scalars())
    if not lots:
        raise LedgerImbalance(f"purchase {purchase_id} was paid but has no lot")
    origin = min(lots, key=lambda lot: (lot.created_at, lot.id))
    net_refunded = refunded_total - vat_refunded(refunded_total, vat, paid)
    need = net_refunded - await covered_by_refunds(session, purchase_id)
    lines: list[Line] = []
    takes: list[Take] = []
    for lot in lots:
        k = value = 0
        while need > 0 and lot.remaining > 0:  # whole credits, in consumption order
            v = split_value(lot.value_remaining, lot.remaining + lot.frozen, 1)
            lot.remaining -= 1
            lot.value_remaining -= v
            k, value, need = k + 1, value + v, need - v
        if k:
            lines += credit_move(
                customer_id, lot.id, k, debit=acc.REVOKED, credit=acc.available(customer_id)
            )
            lines.append(Line(acc.DEFERRED, currency, value, lot.id, customer_id))
            takes.append(Take(lot.id, k, value))
    revoked = sum(t.credits for t in takes)
    wallet.available -= revoked
    revoked_value = sum(t.value for t in takes)
    lines += [
        Line(acc.VAT_PAYABLE, currency, vat_back, origin.id, customer_id),
        Line(
            acc.REVENUE_REFUNDS,
            currency,
            refund_amount - vat_back - revoked_value,
            origin.id,
            customer_id,
        ),
        Line(cash_account, currency, -refund_amount, origin.id, customer_id),
    ]
    txn = await post(
        session, wallet, [line for line in lines if line.amount], kind="revoke",
        reason=REFUND_REASON, now=now, credits=-revoked,
        lot_id=takes[0].lot_id if len(takes) == 1 else origin.id, purchase_id=purchase_id,
        reference=reference, dedupe_key=dedupe_key,
    )  # fmt: skip
    REFUNDS.labels(REFUND_REASON).inc()
    return Posted(txn, takes, origin)


def vat_refunded(refunded: int, vat: int, paid: int) -> int:
    """The VAT in the first `refunded` cents given back of a payment of `paid` holding
    `vat`: proportional, rounded half up, all of it once everything is back."""
    if vat <= 0 or paid <= 0:
        return 0
    if refunded >= paid:
        return vat
    return min(vat, int((Decimal(refunded) * vat / paid).quantize(Decimal(1), ROUND_HALF_UP)))
