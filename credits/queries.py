"""Read side: balances and statements."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.errors import NotFound
from app.kit.pagination import Page, cursor_int, keyset_page
from credits.models import JournalTransaction, Lot, Wallet
from credits.schemas import BalanceRead, EntryRead, LotRead, Money, SpendRead, entry_read
from credits.service import consumption_order


async def has_wallet(session: AsyncSession, customer_id: str) -> bool:
    """Whether the customer exists for the ledger (every customer has a wallet)."""
    found = await session.execute(
        select(Wallet.customer_id).where(Wallet.customer_id == customer_id)
    )
    return found.first() is not None


async def purchase_lots(session: AsyncSession, purchase_id: str) -> list[Lot]:
    """A purchase's lot, and any lot made later to return its credits after expiry."""
    stmt = (
        select(Lot)
        .where(Lot.purchase_id == purchase_id)
        .order_by(Lot.created_at, Lot.id)
        .execution_options(populate_existing=True)
    )
    return list((await session.execute(stmt)).scalars())


async def balance(
    session: AsyncSession, customer_id: str, *, now: datetime, currency: str, threshold: int
) -> BalanceRead:
    wallet = await session.get(Wallet, customer_id)
    if wallet is None:
        raise NotFound("No such customer.")
    lots = list(
        (
            await session.execute(
                select(Lot)
                .where(Lot.customer_id == customer_id, (Lot.remaining > 0) | (Lot.frozen > 0))
                .order_by(*consumption_order())
            )
        ).scalars()
    )
    # Lots that lapsed since the last expiry sweep are not spendable: the next charge or
    # sweep writes them off, and the balance shown here already leaves them out.
    lapsed = sum(l.remaining for l in lots if l.expires_at is not None and l.expires_at <= now)
    return BalanceRead(
        customer_id=customer_id,
        available=wallet.available - lapsed,
        frozen=wallet.frozen,
        lots=[
            LotRead(
                id=l.id,
                source=l.source,
                credits=l.credits,
                remaining=l.remaining,
                frozen=l.frozen,
                unit_value=Money(amount=l.unit_value, currency=l.currency),
                expires_at=l.expires_at,
                created_at=l.created_at,
            )
            for l in lots
            if l.frozen > 0 or l.expires_at is None or l.expires_at > now
        ],
        spend=SpendRead(
            total=Money(amount=wallet.spend_total, currency=currency),
            rewarded_credits=wallet.rewarded_credits,
            next_reward_at=Money(
                amount=(wallet.rewarded_credits + 1) * threshold, currency=currency
            ),
        ),
    )


async def entries(
    session: AsyncSession, customer_id: str, *, limit: int, cursor: str | None
) -> Page[EntryRead]:
    """The customer's statement, newest first."""
    if await session.get(Wallet, customer_id) is None:
        raise NotFound("No such customer.")
    stmt = (
        select(JournalTransaction)
        .where(JournalTransaction.customer_id == customer_id)
        .order_by(JournalTransaction.seq.desc())
        .limit(limit + 1)
    )
    before = cursor_int(cursor, "before")
    if before is not None:
        stmt = stmt.where(JournalTransaction.seq < before)
    rows = list((await session.execute(stmt)).scalars())
    return keyset_page(rows, limit, key="before", position=lambda t: t.seq, read=entry_read)
