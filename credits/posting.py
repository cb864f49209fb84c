"""Posting to the ledger: the customer's lock (the wallet row), balanced journal
transactions and their lines, the BALANCE_DROPPED hook. Nothing here commits."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.errors import NotFound
from app.kit.ids import new_id
from credits import accounts as acc
from credits import hooks
from credits.errors import (
    LedgerImbalance,
)
from credits.models import JournalLine, JournalTransaction, Lot, Wallet

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


# ---------------------------------------------------------------- posting


async def post(
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
        await publish_drop(
            session, wallet.customer_id, wallet.available - credits, credits, txn.id, kind, now
        )
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


def credit_move(
    customer_id: str, lot_id: str, credits: int, *, debit: str, credit: str
) -> list[Line]:
    return [
        Line(debit, acc.CREDIT, credits, lot_id, customer_id),
        Line(credit, acc.CREDIT, -credits, lot_id, customer_id),
    ]


def money_move(
    customer_id: str, lot_id: str, value: int, currency: str, *, debit: str, credit: str
) -> list[Line]:
    if value == 0:
        return []
    return [
        Line(debit, currency, value, lot_id, customer_id),
        Line(credit, currency, -value, lot_id, customer_id),
    ]


async def publish_drop(
    session: AsyncSession,
    customer_id: str,
    before: int,
    credits: int,
    entry_id: str,
    kind: str,
    now: datetime,
) -> None:
    """BALANCE_DROPPED for an entry of `credits` (< 0) posted from `before` available: every
    debit publishes it, whether Python or a SQL function posted the entry."""
    await hooks.BALANCE_DROPPED.publish(
        session,
        hooks.BalanceDrop(
            customer_id=customer_id, before=before, after=before + credits, entry_id=entry_id,
            kind=kind, now=now,
        ),
    )  # fmt: skip
