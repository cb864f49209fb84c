"""Charges and their refunds, and admin adjustments."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from app.kit.errors import NotFound, ValidationFailed
from app.kit.ids import new_id
from app.kit.observability import REFUNDS
from credits import accounts as acc
from credits.errors import AlreadyRefunded, InsufficientCredits, LedgerImbalance
from credits.grants import grant
from credits.lots import expire_locked, get_lot, is_lapsed, take_credits
from credits.models import JournalLine, JournalTransaction, Lot, Wallet
from credits.posting import (
    Line,
    Posted,
    Take,
    credit_move,
    lock_customer,
    money_move,
    post,
    publish_drop,
)


async def charge(
    session: AsyncSession,
    customer_id: str,
    *,
    now: datetime,
    credits: int = 1,
    ticket_id: str | None = None,
    ticket_number: int | None = None,
    reason: str = "ticket",
    memo: str | None = None,
    dedupe_key: str | None = None,
    actor: str | None = None,
    wallet: Wallet | None = None,
) -> Posted:
    """Consumes credits (revenue recognised). Raises InsufficientCredits, changing nothing.
    `wallet`: the customer's wallet when the caller already locked it in this transaction.

    The charge itself is `credits_charge_v1` (credits.sql): the plan and the posting that
    the desk's one-call submission runs too (lots in consumption order, their share of
    value, the journal transaction and its lines, lot and wallet updates). Lapsed lots are written off here first
    (`expire_locked`, with its event), then the charge is asked again."""
    if credits <= 0:
        raise ValueError("a charge takes at least one credit")
    if wallet is None or wallet.customer_id != customer_id:
        wallet = await lock_customer(session, customer_id)
    params = {
        "customer_id": customer_id, "credits": credits, "entry_id": new_id("ent"),
        "reason": reason, "ticket_id": ticket_id, "ticket_number": ticket_number,
        "memo": memo, "dedupe_key": dedupe_key, "actor": actor, "now": now,
    }  # fmt: skip
    for _ in range(2):
        await session.flush()  # what the function reads: the session's pending changes
        row = (await session.execute(_CHARGE, params)).one()
        if row.status != "lapsed":
            break
        await expire_locked(session, wallet, now)
    if row.status == "insufficient":
        raise InsufficientCredits(
            f"This needs {credits} credit(s); the customer has {row.available}.",
            available=row.available,
            required=credits,
        )
    if row.status != "charged":  # the stored balance disagrees with the lots
        raise LedgerImbalance(f"wallet {customer_id}: charge refused ({row.status})")
    takes = [Take(*taken) for taken in zip(row.lot_ids, row.takes, row.amounts, strict=True)]
    _written(session, wallet, takes, credits, now)
    txn = JournalTransaction(
        seq=row.seq, id=params["entry_id"], kind="charge", reason=reason,
        customer_id=customer_id, credits=-credits, balance_after=row.available - credits,
        lot_id=takes[0].lot_id if len(takes) == 1 else None, ticket_id=ticket_id,
        ticket_number=ticket_number, purchase_id=None, reference=None, memo=memo,
        refund_of=None, dedupe_key=dedupe_key, actor=actor, posted_at=now,
    )  # fmt: skip
    make_transient_to_detached(txn)  # the row exists: tracked without a query
    session.add(txn)
    await publish_drop(session, customer_id, row.available, txn.credits, txn.id, "charge", now)
    return Posted(txn, takes)


_CHARGE = text(
    "SELECT status, seq, available, lot_ids, takes, amounts FROM credits_charge_v1("
    ":customer_id, :credits, :entry_id, :reason, :ticket_id, :ticket_number, :memo, "
    ":dedupe_key, :actor, :now)"
)


def _written(
    session: AsyncSession, wallet: Wallet, takes: list[Take], credits: int, now: datetime
) -> None:
    """The session's wallet and lots as the charge function left them (not dirty: the rows
    are written already)."""
    set_committed_value(wallet, "available", wallet.available - credits)
    set_committed_value(wallet, "updated_at", now)
    for taken in takes:
        lot = session.identity_map.get(identity_key(Lot, taken.lot_id))
        if isinstance(lot, Lot):
            set_committed_value(lot, "remaining", lot.remaining - taken.credits)
            set_committed_value(lot, "value_remaining", lot.value_remaining - taken.value)


async def get_transaction(session: AsyncSession, transaction_id: str) -> JournalTransaction:
    txn = (
        await session.execute(
            select(JournalTransaction).where(JournalTransaction.id == transaction_id)
        )
    ).scalar_one_or_none()
    if txn is None:
        raise NotFound("No such ledger entry.")
    return txn


async def find_refund(session: AsyncSession, charge_id: str) -> JournalTransaction | None:
    stmt = select(JournalTransaction).where(JournalTransaction.refund_of == charge_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def refund_charge(
    session: AsyncSession,
    charge_id: str,
    *,
    reason: str,
    now: datetime,
    reference: str | None = None,
    memo: str | None = None,
    actor: str | None = None,
) -> Posted:
    """Gives a charge's credits back, each to the lot it came from (or, when that lot has
    expired, to a new lot of the same value and validity). At most once per charge:
    AlreadyRefunded otherwise (and a unique index on `refund_of` backs this up).

    A lot under dispute holds the credit it gets back (frozen with the rest). A lot whose
    money already went back to the customer beyond the credits revoked for it (a refund,
    a lost dispute: `refund_outstanding`) takes the credit back and revokes it at once: the customer is never refunded twice, in cash and in credits."""
    charge_txn = await get_transaction(session, charge_id)
    if charge_txn.kind != "charge" or charge_txn.customer_id is None:
        raise ValidationFailed("Only a charge can be refunded.")
    customer_id = charge_txn.customer_id
    wallet = await lock_customer(session, customer_id)
    if await find_refund(session, charge_id) is not None:
        raise AlreadyRefunded("This charge has already been refunded.", charge_id=charge_id)
    lines: list[Line] = []
    takes: list[Take] = []
    before = wallet.available
    for lot_id, credits, value in await _charge_takes(session, charge_txn):
        lot = await _return_to_lot(
            session, wallet, await get_lot(session, lot_id), credits, value, now
        )
        lines += lot.lines
        takes.append(Take(lot.lot_id, credits, value))
    txn = await post(
        session, wallet, lines, kind="refund", reason=reason, now=now,
        credits=wallet.available - before,
        lot_id=takes[0].lot_id if len(takes) == 1 else None, ticket_id=charge_txn.ticket_id,
        ticket_number=charge_txn.ticket_number, reference=reference, memo=memo,
        refund_of=charge_id, actor=actor,
    )  # fmt: skip
    REFUNDS.labels(reason).inc()
    return Posted(txn, takes)


@dataclass(slots=True)
class _Returned:
    lot_id: str
    lines: list[Line]


async def _return_to_lot(
    session: AsyncSession, wallet: Wallet, lot: Lot, credits: int, value: int, now: datetime
) -> _Returned:
    """Gives `credits` worth `value` back to `lot` (or to its successor when it expired).

    Revoked at once instead when the lot's purchase money went back beyond its revoked
    credits (`refund_outstanding`), or when the lot is free and was revoked: a withdrawn
    gift does not come back through a refund of a charge it paid for."""
    cid = wallet.customer_id
    if await refund_outstanding(session, lot) > 0 or (
        lot.amount == 0 and await _was_revoked(session, lot.id)
    ):
        lines = credit_move(cid, lot.id, credits, debit=acc.REVOKED, credit=acc.CONSUMED)
        lines += money_move(
            cid, lot.id, value, lot.currency, debit=acc.REVENUE_SUPPORT, credit=acc.REVENUE_REFUNDS
        )
        return _Returned(lot.id, lines)
    if is_lapsed(lot, now):
        lot = _refund_lot(lot, credits, value, now)  # empty: filled below
        session.add(lot)
    held = acc.available(cid)
    if lot.frozen > 0:  # disputed: the credit joins the hold
        lot.frozen += credits
        wallet.frozen += credits
        held = acc.frozen(cid)
    else:
        lot.remaining += credits
        wallet.available += credits
    lot.value_remaining += value
    lines = credit_move(cid, lot.id, credits, debit=held, credit=acc.CONSUMED)
    lines += money_move(
        cid, lot.id, value, lot.currency, debit=acc.REVENUE_SUPPORT, credit=acc.DEFERRED
    )
    return _Returned(lot.id, lines)


async def refund_outstanding(session: AsyncSession, lot: Lot) -> int:
    """Money given back for a lot's purchase (refunds, a lost dispute) beyond the value of
    the credits revoked for it: the balance of `revenue:refunds` on the purchase's lots (or,
    without a purchase, on the lot and its successors). While it is positive, a credit
    returned to one of those lots is revoked at once."""
    origin = lot.origin_lot_id or lot.id
    same = or_(Lot.id == origin, Lot.origin_lot_id == origin)
    if lot.purchase_id is not None:
        same = or_(same, Lot.purchase_id == lot.purchase_id)
    lots = select(Lot.id).where(same)
    stmt = select(func.coalesce(func.sum(JournalLine.amount), 0)).where(
        JournalLine.account == acc.REVENUE_REFUNDS, JournalLine.lot_id.in_(lots)
    )
    return int((await session.execute(stmt)).scalar_one())


async def _was_revoked(session: AsyncSession, lot_id: str) -> bool:
    """Whether the lot was withdrawn (`revoke_lot`, a purchase refund: a `revoke`
    transaction took credits of it). An admin's negative adjustment also posts to
    `credits:revoked`, but it only removed credits that were there in consumption order;
    it does not withdraw the lot, so a credit refunded to that lot later comes back."""
    stmt = (
        select(JournalLine.transaction_seq)
        .join(JournalTransaction, JournalTransaction.seq == JournalLine.transaction_seq)
        .where(
            JournalTransaction.kind == "revoke",
            JournalLine.account == acc.REVOKED,
            JournalLine.unit == acc.CREDIT,
            JournalLine.lot_id == lot_id,
        )
        .limit(1)
    )
    return (await session.execute(stmt)).first() is not None


def _refund_lot(expired: Lot, credits: int, value: int, now: datetime) -> Lot:
    return Lot(
        id=new_id("lot"),
        customer_id=expired.customer_id,
        source="refund",
        credits=credits,
        remaining=0,
        frozen=0,
        amount=value,
        value_remaining=0,
        unit_value=value // credits,
        currency=expired.currency,
        cash_account=expired.cash_account,
        purchase_id=expired.purchase_id,
        origin_lot_id=expired.id,
        valid_days=expired.valid_days,
        expires_at=(now + (expired.expires_at - expired.created_at))
        if expired.expires_at
        else None,
        created_at=now,
    )


async def _charge_takes(
    session: AsyncSession, charge_txn: JournalTransaction
) -> list[tuple[str, int, int]]:
    """(lot, credits, value) of each lot a charge consumed, read back from its lines."""
    rows = await session.execute(
        select(JournalLine.lot_id, JournalLine.unit, JournalLine.amount).where(
            JournalLine.transaction_seq == charge_txn.seq,
            or_(JournalLine.account == acc.CONSUMED, JournalLine.account == acc.DEFERRED),
        )
    )
    credits: dict[str, int] = defaultdict(int)
    values: dict[str, int] = defaultdict(int)
    for lot_id, unit, amount in rows:
        if lot_id is None:
            continue
        if unit == acc.CREDIT:
            credits[lot_id] += amount
        else:
            values[lot_id] += amount
    return [(lot_id, n, values[lot_id]) for lot_id, n in sorted(credits.items())]


# ---------------------------------------------------------------- adjustments


async def adjust(
    session: AsyncSession,
    customer_id: str,
    *,
    credits: int,
    reason: str,
    now: datetime,
    currency: str,
    valid_days: int | None = None,
    actor: str | None = None,
) -> Posted:
    """Admin correction: +n grants a free lot; −n removes credits in consumption order
    (their value, if any, leaves deferred revenue as `revenue:adjustments`)."""
    if credits == 0:
        raise ValidationFailed("An adjustment must change the balance.", field="credits")
    if credits > 0:
        return await grant(
            session, customer_id, credits=credits, amount=0, currency=currency,
            source="adjustment", now=now, valid_days=valid_days, memo=reason, actor=actor,
            kind="adjustment",
        )  # fmt: skip
    wallet = await lock_customer(session, customer_id)
    lines: list[Line] = []
    takes = []
    for lot, take in await take_credits(session, wallet, -credits, now):
        lines += credit_move(
            customer_id, lot.id, take.credits, debit=acc.REVOKED, credit=acc.available(customer_id)
        )
        lines += money_move(
            customer_id,
            lot.id,
            take.value,
            lot.currency,
            debit=acc.DEFERRED,
            credit=acc.REVENUE_ADJUSTMENTS,
        )
        takes.append(take)
    txn = await post(
        session, wallet, lines, kind="adjustment", reason="adjustment", now=now,
        credits=credits, lot_id=takes[0].lot_id if len(takes) == 1 else None,
        memo=reason, actor=actor,
    )  # fmt: skip
    return Posted(txn, takes)
