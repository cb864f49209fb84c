"""Read side: balances and statements."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.errors import NotFound
from app.kit.pagination import Page, cursor_int, keyset_page
from credits.models import JournalTransaction, Lot, Wallet
from credits.schemas import BalanceRead, EntryRead, LotRead, Money, SpendRead
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


# The wallet and its lots with credits in one statement (a wallet without lots: one row
# whose lot columns are NULL; no wallet: no row).
_BALANCE = (
    select(
        Wallet.available,
        Wallet.frozen.label("wallet_frozen"),
        Wallet.spend_total,
        Wallet.rewarded_credits,
        Lot.id,
        Lot.source,
        Lot.credits,
        Lot.remaining,
        Lot.frozen,
        Lot.unit_value,
        Lot.currency,
        Lot.expires_at,
        Lot.created_at,
    )
    .select_from(Wallet)
    .outerjoin(
        Lot,
        and_(Lot.customer_id == Wallet.customer_id, or_(Lot.remaining > 0, Lot.frozen > 0)),
    )
    .where(Wallet.customer_id == bindparam("customer_id"))
    .order_by(*consumption_order())
)


async def balance(
    session: AsyncSession, customer_id: str, *, now: datetime, currency: str, threshold: int
) -> BalanceRead:
    rows = (await session.execute(_BALANCE, {"customer_id": customer_id})).all()
    if not rows:
        raise NotFound("No such customer.")
    wallet = rows[0]
    lots = [r for r in rows if r.id is not None]
    # Lots that lapsed since the last expiry sweep are not spendable: the next charge or
    # sweep writes them off, and the balance shown here already leaves them out.
    lapsed = sum(l.remaining for l in lots if l.expires_at is not None and l.expires_at <= now)
    return BalanceRead(
        customer_id=customer_id,
        available=wallet.available - lapsed,
        frozen=wallet.wallet_frozen,
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


_T = JournalTransaction
# The statement's columns: the entry as `EntryRead` shows it, and its keyset position.
_ENTRY_COLUMNS = (
    _T.id, _T.posted_at, _T.kind, _T.credits, _T.balance_after, _T.lot_id, _T.ticket_id,
    _T.purchase_id, _T.reason, _T.memo, _T.seq,
)  # fmt: skip


async def entries(
    session: AsyncSession, customer_id: str, *, limit: int, cursor: str | None
) -> Page[EntryRead]:
    """The customer's statement, newest first: the columns it shows, in one statement
    (and a look for the wallet only when the page is empty: no customer, 404)."""
    before = cursor_int(cursor, "before")
    stmt = (
        select(*_ENTRY_COLUMNS)
        .where(_T.customer_id == customer_id)
        .order_by(_T.seq.desc())
        .limit(limit + 1)
    )
    if before is not None:
        stmt = stmt.where(_T.seq < before)
    rows = (await session.execute(stmt)).all()
    if not rows and not await has_wallet(session, customer_id):
        raise NotFound("No such customer.")
    return keyset_page(rows, limit, key="before", position=lambda r: r.seq, read=_entry)


def _entry(row: Any) -> EntryRead:
    return EntryRead(
        id=row.id, created_at=row.posted_at, kind=row.kind, credits=row.credits,
        balance_after=row.balance_after or 0, lot_id=row.lot_id, ticket_id=row.ticket_id,
        purchase_id=row.purchase_id, reason=row.reason, memo=row.memo,
    )  # fmt: skip
