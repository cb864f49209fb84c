"""Receipts of succeeded purchases: numbered from a gap-free sequence per year, taken in
the purchase's success transaction (a counter row per year, locked while the number is
taken: a rolled-back success gives its number back), with the seller's and the buyer's
details and the net / VAT / gross split fixed at that moment."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, column, select, table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.ids import new_id
from app.settings import Settings
from billing.models import CreditNoteCounter, Purchase, Receipt, ReceiptCounter

# Read (never written) without importing app.customers, which sits above billing.
_customers = table(
    "customers", column("id", String), column("name", String), column("email", String)
)


async def next_number(
    session: AsyncSession,
    year: int,
    counters: type[ReceiptCounter | CreditNoteCounter] = ReceiptCounter,
) -> int:
    """The year's next number (a receipt's, or with `CreditNoteCounter` a credit note's),
    holding its counter row until the transaction ends."""
    await session.execute(pg_insert(counters).values(year=year, last=0).on_conflict_do_nothing())
    counter: ReceiptCounter | CreditNoteCounter = (  # type: ignore[assignment]
        await session.execute(
            select(counters)
            .where(counters.year == year)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    counter.last += 1
    return counter.last


async def issue(
    session: AsyncSession, purchase: Purchase, *, settings: Settings, now: datetime
) -> Receipt:
    """The purchase's receipt (once: the caller has just moved it to succeeded)."""
    buyer = (
        await session.execute(
            select(_customers.c.name, _customers.c.email).where(
                _customers.c.id == purchase.customer_id
            )
        )
    ).one()
    year = now.year
    seq = await next_number(session, year)
    # The split the sale posted (credits.catalogue.split_vat when the purchase was made, at
    # CREDITDESK_VAT_RATE): the receipt's VAT is what went to vat:payable.
    vat = purchase.vat_amount
    net = purchase.amount - vat
    receipt = Receipt(
        id=new_id("rct"), number=f"{year}-{seq:06d}", year=year, seq=seq,
        purchase_id=purchase.id, customer_id=purchase.customer_id, issued_at=now,
        seller_name=settings.receipt_seller_name, seller_address=settings.receipt_seller_address,
        seller_tax_id=settings.receipt_seller_tax_id, buyer_name=buyer.name,
        buyer_email=buyer.email,
        description=f"Support credits: {purchase.credits} × technical-support request "
        f"(pack '{purchase.pack}')",
        currency=purchase.currency, gross=purchase.amount, net=net, vat=vat,
        vat_rate=str(settings.vat_rate.normalize()),
    )  # fmt: skip
    session.add(receipt)
    purchase.receipt_number = receipt.number
    await session.flush()
    return receipt


async def for_purchase(session: AsyncSession, purchase_id: str) -> Receipt | None:
    found = await session.execute(select(Receipt).where(Receipt.purchase_id == purchase_id))
    return found.scalar_one_or_none()
