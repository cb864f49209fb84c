"""The ledger's operations. Each one takes the customer's lock first (`lock_customer`: the
wallet row, `FOR UPDATE`), changes lots and the stored balance, and posts one balanced
journal transaction, all in the caller's transaction. Nothing here commits."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.errors import NotFound, ValidationFailed
from app.kit.events import EventType, record_event
from app.kit.ids import new_id
from app.kit.observability import CREDITS_GRANTED, REFUNDS
from credits import accounts as acc
from credits import hooks
from credits.catalogue import split_value, vat_share
from credits.errors import (
    AlreadyRefunded,
    CreditLimit,
    InsufficientCredits,
    LedgerImbalance,
    SpendBelowZero,
    SpendLimit,
)
from credits.models import JournalLine, JournalTransaction, Lot, SpendRecord, Wallet
from credits.schemas import entry_read

# Credits are stored in 32-bit columns (wallets, lots): no wallet may hold more, and no
# cumulative spend may earn more. Spend totals are 64-bit; this bound keeps them far off.
MAX_WALLET_CREDITS = 1_000_000_000
MAX_SPEND_TOTAL = 10**15


@dataclass(frozen=True, slots=True)
class Line:
    account: str
    unit: str
    amount: int
    lot_id: str | None = None
    customer_id: str | None = None


@dataclass(slots=True)
class Take:
    lot_id: str
    credits: int
    value: int


@dataclass(slots=True)
class Posted:
    transaction: JournalTransaction
    takes: list[Take] = field(default_factory=list)
    lot: Lot | None = None


# ---------------------------------------------------------------- wallets and locks


async def open_wallet(session: AsyncSession, customer_id: str, now: datetime) -> Wallet:
    wallet = Wallet(
        customer_id=customer_id,
        available=0,
        frozen=0,
        spend_total=0,
        rewarded_credits=0,
        updated_at=now,
    )
    session.add(wallet)
    await session.flush()
    return wallet


# Built once (every charge runs them): a statement object caches its compiled form.
_LOCK_WALLET = (
    select(Wallet)
    .where(Wallet.customer_id == bindparam("customer_id"))
    .with_for_update()
    .execution_options(populate_existing=True)
)


async def lock_customer(session: AsyncSession, customer_id: str) -> Wallet:
    """The customer's lock, held to the end of the caller's transaction: their wallet row,
    `SELECT … FOR UPDATE`. Every ledger operation takes it, and so does anything that must be decided once per customer (a duplicate
    submission, the naming of an urgent ticket). Lock order: ticket rows (in id order)
    first, then the customer; several customers in id order (`lock_customers`). Returns
    the locked wallet, fresh from the database; NotFound when the customer has none."""
    found = await session.execute(_LOCK_WALLET, {"customer_id": customer_id})
    wallet = found.scalar_one_or_none()
    if wallet is None:
        raise NotFound("No such customer.")
    return wallet


async def lock_customers(session: AsyncSession, customer_ids: list[str]) -> dict[str, Wallet]:
    """Several customers' locks, always taken in id order so that two jobs cannot deadlock."""
    return {cid: await lock_customer(session, cid) for cid in sorted(set(customer_ids))}


def _lapsed(lot: Lot, now: datetime) -> bool:
    return lot.expires_at is not None and lot.expires_at <= now


def consumption_order():  # type: ignore[no-untyped-def]
    """Soonest expiry first (none last), then free lots before paid, then oldest."""
    return (
        Lot.expires_at.is_(None),
        Lot.expires_at,
        case((Lot.amount == 0, 0), else_=1),
        Lot.created_at,
        Lot.id,
    )


async def _open_lots(session: AsyncSession, customer_id: str) -> list[Lot]:
    """The customer's lots with credits left, in consumption order (lapsed ones first,
    since they expired soonest). Call with the wallet locked."""
    found = await session.execute(_OPEN_LOTS, {"customer_id": customer_id})
    return list(found.scalars())


_OPEN_LOTS = (
    select(Lot)
    .where(Lot.customer_id == bindparam("customer_id"), Lot.remaining > 0)
    .order_by(*consumption_order())
    .execution_options(populate_existing=True)
)


# ---------------------------------------------------------------- posting


async def _post(
    session: AsyncSession,
    wallet: Wallet | None,
    lines: list[Line],
    *,
    kind: str,
    now: datetime,
    credits: int = 0,
    **fields: object,
) -> JournalTransaction:
    sums: dict[str, int] = defaultdict(int)
    for line in lines:
        sums[line.unit] += line.amount
    if any(sums.values()) or len(lines) < 2:
        raise LedgerImbalance(f"{kind}: lines do not balance per unit: {dict(sums)}")
    if wallet is not None:
        wallet.updated_at = now
    txn = JournalTransaction(
        id=new_id("ent"),
        kind=kind,
        customer_id=wallet.customer_id if wallet else None,
        credits=credits,
        balance_after=wallet.available if wallet else None,
        posted_at=now,
        **fields,
    )
    session.add(txn)
    await session.flush()
    if wallet is not None and credits < 0:
        await hooks.BALANCE_DROPPED.publish(
            session,
            hooks.BalanceDrop(
                customer_id=wallet.customer_id, before=wallet.available - credits,
                after=wallet.available, entry_id=txn.id, kind=kind, now=now,
            ),
        )  # fmt: skip
    session.add_all(
        JournalLine(
            transaction_seq=txn.seq,
            account=line.account,
            unit=line.unit,
            amount=line.amount,
            lot_id=line.lot_id,
            customer_id=line.customer_id,
        )
        for line in lines
        if line.amount != 0
    )
    await session.flush()
    return txn


def _credit_move(
    customer_id: str, lot_id: str, credits: int, *, debit: str, credit: str
) -> list[Line]:
    return [
        Line(debit, acc.CREDIT, credits, lot_id, customer_id),
        Line(credit, acc.CREDIT, -credits, lot_id, customer_id),
    ]


def _money_move(
    customer_id: str, lot_id: str, value: int, currency: str, *, debit: str, credit: str
) -> list[Line]:
    if value == 0:
        return []
    return [
        Line(debit, currency, value, lot_id, customer_id),
        Line(credit, currency, -value, lot_id, customer_id),
    ]


# ---------------------------------------------------------------- grants


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
    lines = _credit_move(
        customer_id, lot.id, credits, debit=acc.available(customer_id), credit=acc.ISSUED
    )
    if (amount or vat) and cash_account:
        lines += [
            Line(cash_account, currency, amount + vat, lot.id, customer_id),
            Line(acc.DEFERRED, currency, -amount, lot.id, customer_id),
            Line(acc.VAT_PAYABLE, currency, -vat, lot.id, customer_id),
        ]
    txn = await _post(
        session, wallet, lines, kind=kind, reason=source, now=now, credits=credits,
        lot_id=lot.id, purchase_id=purchase_id, reference=reference, memo=memo,
        dedupe_key=dedupe_key, actor=actor,
    )  # fmt: skip
    record_event(
        session, EventType.credits_granted, customer_id=customer_id, obj=entry_read(txn), now=now
    )
    CREDITS_GRANTED.labels(source).inc(credits)
    return Posted(txn, [Take(lot.id, credits, amount)], lot)


# ---------------------------------------------------------------- charges and refunds


async def _take(
    session: AsyncSession, wallet: Wallet, credits: int, now: datetime
) -> list[tuple[Lot, Take]]:
    """Removes `credits` from the customer's lots in consumption order, after writing off
    the lots that lapsed since the last sweep (one query for both)."""
    lots = await _open_lots(session, wallet.customer_id)
    await expire_locked(session, wallet, now, [lot for lot in lots if _lapsed(lot, now)])
    if wallet.available < credits:
        raise InsufficientCredits(
            f"This needs {credits} credit(s); the customer has {wallet.available}.",
            available=wallet.available,
            required=credits,
        )
    taken: list[tuple[Lot, Take]] = []
    need = credits
    for lot in (lot for lot in lots if not _lapsed(lot, now)):
        if need == 0:
            break
        k = min(lot.remaining, need)
        value = split_value(lot.value_remaining, lot.remaining + lot.frozen, k)
        lot.remaining -= k
        lot.value_remaining -= value
        need -= k
        taken.append((lot, Take(lot.id, k, value)))
    if need:  # the stored balance disagrees with the lots: never paper over that
        raise LedgerImbalance(f"wallet {wallet.customer_id} balance exceeds its usable lots")
    wallet.available -= credits
    return taken


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
    `wallet`: the customer's wallet when the caller already locked it in this transaction."""
    if credits <= 0:
        raise ValueError("a charge takes at least one credit")
    if wallet is None or wallet.customer_id != customer_id:
        wallet = await lock_customer(session, customer_id)
    lines: list[Line] = []
    takes = []
    for lot, take in await _take(session, wallet, credits, now):
        lines += _credit_move(
            customer_id, lot.id, take.credits, debit=acc.CONSUMED, credit=acc.available(customer_id)
        )
        lines += _money_move(
            customer_id,
            lot.id,
            take.value,
            lot.currency,
            debit=acc.DEFERRED,
            credit=acc.REVENUE_SUPPORT,
        )
        takes.append(take)
    txn = await _post(
        session, wallet, lines, kind="charge", reason=reason, now=now, credits=-credits,
        lot_id=takes[0].lot_id if len(takes) == 1 else None, ticket_id=ticket_id,
        ticket_number=ticket_number, memo=memo, dedupe_key=dedupe_key, actor=actor,
    )  # fmt: skip
    return Posted(txn, takes)


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
            session, wallet, await _lot(session, lot_id), credits, value, now
        )
        lines += lot.lines
        takes.append(Take(lot.lot_id, credits, value))
    txn = await _post(
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
        lines = _credit_move(cid, lot.id, credits, debit=acc.REVOKED, credit=acc.CONSUMED)
        lines += _money_move(
            cid, lot.id, value, lot.currency, debit=acc.REVENUE_SUPPORT, credit=acc.REVENUE_REFUNDS
        )
        return _Returned(lot.id, lines)
    if _lapsed(lot, now):
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
    lines = _credit_move(cid, lot.id, credits, debit=held, credit=acc.CONSUMED)
    lines += _money_move(
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


async def _lot(session: AsyncSession, lot_id: str) -> Lot:
    lot = (
        await session.execute(
            select(Lot).where(Lot.id == lot_id).execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if lot is None:
        raise NotFound("No such lot.")
    return lot


# ---------------------------------------------------------------- expiry


async def expire_locked(
    session: AsyncSession, wallet: Wallet, now: datetime, lapsed: list[Lot] | None = None
) -> JournalTransaction | None:
    """Moves the remaining credits of the wallet's lapsed lots out (breakage). Idempotent.
    `lapsed`: those lots, when the caller has just loaded them under the wallet lock."""
    if lapsed is None:
        lapsed = [lot for lot in await _open_lots(session, wallet.customer_id) if _lapsed(lot, now)]
    lots = sorted(lapsed, key=lambda lot: (lot.expires_at, lot.id))
    if not lots:
        return None
    cid = wallet.customer_id
    lines: list[Line] = []
    total = 0
    for lot in lots:
        k = lot.remaining
        value = split_value(lot.value_remaining, lot.remaining + lot.frozen, k)
        lot.remaining = 0
        lot.value_remaining -= value
        total += k
        lines += _credit_move(cid, lot.id, k, debit=acc.EXPIRED, credit=acc.available(cid))
        lines += _money_move(
            cid, lot.id, value, lot.currency, debit=acc.DEFERRED, credit=acc.REVENUE_BREAKAGE
        )
    wallet.available -= total
    txn = await _post(
        session, wallet, lines, kind="expiry", reason="expired", now=now, credits=-total,
        lot_id=lots[0].id if len(lots) == 1 else None,
    )  # fmt: skip
    record_event(
        session, EventType.credits_expired, customer_id=cid, obj=entry_read(txn), now=now,
        previous={"available": wallet.available + total},
    )  # fmt: skip
    return txn


async def customers_with_lapsed_lots(session: AsyncSession, now: datetime) -> list[str]:
    stmt = (
        select(Lot.customer_id)
        .where(Lot.remaining > 0, Lot.expires_at.is_not(None), Lot.expires_at <= now)
        .distinct()
    )
    return sorted((await session.execute(stmt)).scalars())


async def expire_customer(session: AsyncSession, customer_id: str, now: datetime) -> int:
    txn = await expire_locked(session, await lock_customer(session, customer_id), now)
    return -txn.credits if txn else 0


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
    for lot, take in await _take(session, wallet, -credits, now):
        lines += _credit_move(
            customer_id, lot.id, take.credits, debit=acc.REVOKED, credit=acc.available(customer_id)
        )
        lines += _money_move(
            customer_id,
            lot.id,
            take.value,
            lot.currency,
            debit=acc.DEFERRED,
            credit=acc.REVENUE_ADJUSTMENTS,
        )
        takes.append(take)
    txn = await _post(
        session, wallet, lines, kind="adjustment", reason="adjustment", now=now,
        credits=credits, lot_id=takes[0].lot_id if len(takes) == 1 else None,
        memo=reason, actor=actor,
    )  # fmt: skip
    return Posted(txn, takes)


# ---------------------------------------------------------------- disputes and refunds of money


async def freeze_lot(
    session: AsyncSession, lot_id: str, *, now: datetime, reason: str, reference: str | None = None
) -> Posted | None:
    """Holds a lot's remaining credits (a payment dispute). None when nothing is left."""
    lot = await _lot(session, lot_id)
    wallet = await lock_customer(session, lot.customer_id)
    lot = await _lot(session, lot_id)
    k = lot.remaining
    if k == 0:
        return None
    cid = lot.customer_id
    lot.remaining, lot.frozen = 0, lot.frozen + k
    wallet.available -= k
    wallet.frozen += k
    lines = _credit_move(cid, lot.id, k, debit=acc.frozen(cid), credit=acc.available(cid))
    txn = await _post(
        session, wallet, lines, kind="freeze", reason=reason, now=now, credits=-k,
        lot_id=lot.id, purchase_id=lot.purchase_id, reference=reference,
    )  # fmt: skip
    return Posted(txn, [Take(lot.id, k, 0)], lot)


async def release_lot(
    session: AsyncSession, lot_id: str, *, now: datetime, reason: str, reference: str | None = None
) -> Posted | None:
    """Gives frozen credits back (dispute won). None when nothing is frozen."""
    lot = await _lot(session, lot_id)
    wallet = await lock_customer(session, lot.customer_id)
    lot = await _lot(session, lot_id)
    k = lot.frozen
    if k == 0:
        return None
    cid = lot.customer_id
    lot.remaining, lot.frozen = lot.remaining + k, 0
    wallet.available += k
    wallet.frozen -= k
    lines = _credit_move(cid, lot.id, k, debit=acc.available(cid), credit=acc.frozen(cid))
    txn = await _post(
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
    lot = await _lot(session, lot_id)
    wallet = await lock_customer(session, lot.customer_id)
    lot = await _lot(session, lot_id)
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
        lines += _credit_move(cid, lot.id, k, debit=acc.REVOKED, credit=held)
    lines += await _refund_money_lines(session, lot, value, refund_amount)
    lines = [line for line in lines if line.amount]
    if not lines:
        return None
    txn = await _post(
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


# ---------------------------------------------------------------- spend rewards


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
    passes what was rewarded. A reference seen before changes nothing."""
    wallet = await lock_customer(session, customer_id)
    seen = await session.execute(
        select(SpendRecord.id).where(
            SpendRecord.customer_id == customer_id, SpendRecord.reference == reference
        )
    )
    if seen.first() is not None:
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
