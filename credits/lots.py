"""Lots: consumption order, taking credits from lots, and expiry (breakage)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, case, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.errors import NotFound
from app.kit.events import EventType, record_event
from credits import accounts as acc
from credits.catalogue import split_value
from credits.errors import (
    InsufficientCredits,
    LedgerImbalance,
)
from credits.models import JournalTransaction, Lot, Wallet
from credits.posting import Line, Take, credit_move, lock_customer, money_move, post
from credits.schemas import entry_read


def is_lapsed(lot: Lot, now: datetime) -> bool:
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


async def open_lots(session: AsyncSession, customer_id: str) -> list[Lot]:
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


async def get_lot(session: AsyncSession, lot_id: str) -> Lot:
    lot = (
        await session.execute(
            select(Lot).where(Lot.id == lot_id).execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if lot is None:
        raise NotFound("No such lot.")
    return lot


async def take_credits(
    session: AsyncSession, wallet: Wallet, credits: int, now: datetime
) -> list[tuple[Lot, Take]]:
    """Removes `credits` from the customer's lots in consumption order, after writing off
    the lots that lapsed since the last sweep (one query for both)."""
    lots = await open_lots(session, wallet.customer_id)
    await expire_locked(session, wallet, now, [lot for lot in lots if is_lapsed(lot, now)])
    if wallet.available < credits:
        raise InsufficientCredits(
            f"This needs {credits} credit(s); the customer has {wallet.available}.",
            available=wallet.available,
            required=credits,
        )
    taken: list[tuple[Lot, Take]] = []
    need = credits
    for lot in (lot for lot in lots if not is_lapsed(lot, now)):
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


# ---------------------------------------------------------------- expiry


async def expire_locked(
    session: AsyncSession, wallet: Wallet, now: datetime, lapsed: list[Lot] | None = None
) -> JournalTransaction | None:
    """Moves the remaining credits of the wallet's lapsed lots out (breakage). Idempotent.
    `lapsed`: those lots, when the caller has just loaded them under the wallet lock."""
    if lapsed is None:
        lapsed = [
            lot for lot in await open_lots(session, wallet.customer_id) if is_lapsed(lot, now)
        ]
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
        lines += credit_move(cid, lot.id, k, debit=acc.EXPIRED, credit=acc.available(cid))
        lines += money_move(
            cid, lot.id, value, lot.currency, debit=acc.DEFERRED, credit=acc.REVENUE_BREAKAGE
        )
    wallet.available -= total
    txn = await post(
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
