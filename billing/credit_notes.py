"""Credit notes: money given back on a purchase (a refund, or what a lost dispute took), as
a document that corrects the purchase's receipt.

- **One per refund or lost dispute**, made in the transaction that applies it to the
  ledger, under the purchase's row lock (`billing.service`): a refund is applied once per
  growth of the charge's cumulative `amount_refunded`, a dispute is lost once, so a repeated
  or concurrent Stripe event makes none; `source_key` (unique) names what it is for.
- **Numbered** `CN-<year>-<seq>` from a sequence of their own, apart from the receipts',
  gap-free: the number is taken from the year's counter row, locked for update, in the same
  transaction (a rolled-back refund gives its number back).
- **VAT as the receipt's**, cents exact, by the ledger's own rule, so that the note says
  what left `vat:payable`: the VAT in money given back is its proportional share, rounded
  half up, counted cumulatively over the purchase's refunds (`credits.refunds.vat_refunded`
  of all refunded so far minus that of what was refunded before), and a lost dispute takes
  the share of what is left (`credits.catalogue.vat_share`: all the VAT still unrefunded
  when it takes the whole rest). Either way the notes of a purchase whose money all went
  back add up to its receipt exactly: gross, net and VAT."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import String, and_, column, or_, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.errors import NotFound
from app.kit.ids import new_id
from app.kit.pagination import Page, cursor_instant_id, encode_cursor
from app.settings import Settings
from billing.models import CreditNote, CreditNoteCounter, CreditNoteKind, Purchase, Receipt
from billing.receipts import next_number
from billing.schemas import CreditNoteRead, credit_note_read
from credits.catalogue import vat_share
from credits.refunds import vat_refunded

# Read (never written) without importing app.customers, which sits above billing.
_customers = table(
    "customers", column("id", String), column("name", String), column("email", String)
)


def refund_vat(purchase: Purchase, *, total: int, delta: int) -> int:
    """The VAT in a refund of `delta` that brings the purchase's refunds to `total`."""
    vat, paid = purchase.vat_amount, purchase.amount
    return vat_refunded(total, vat, paid) - vat_refunded(total - delta, vat, paid)


def dispute_vat(purchase: Purchase, *, taken: int) -> int:
    """The VAT in what a lost dispute took, after the purchase's refunds."""
    refunded = purchase.amount_refunded
    left = purchase.vat_amount - vat_refunded(refunded, purchase.vat_amount, purchase.amount)
    return vat_share(taken, left, purchase.amount - refunded)


async def issue(
    session: AsyncSession,
    purchase: Purchase,
    *,
    kind: CreditNoteKind,
    source_key: str,
    gross: int,
    vat: int,
    reference: str | None,
    settings: Settings | None,
    now: datetime,
) -> CreditNote:
    """The credit note of money just given back (the caller holds the purchase row and
    applies the refund or lost dispute in this transaction)."""
    receipt = (
        await session.execute(select(Receipt).where(Receipt.purchase_id == purchase.id))
    ).scalar_one_or_none()
    if receipt is not None:
        seller = (receipt.seller_name, receipt.seller_address, receipt.seller_tax_id)
        buyer = (receipt.buyer_name, receipt.buyer_email)
        rate = receipt.vat_rate
    else:  # paid before receipts existed (migration 0011): today's details, the sale's rate
        seller = (
            (settings.receipt_seller_name, settings.receipt_seller_address,
             settings.receipt_seller_tax_id) if settings is not None else ("", "", None)
        )  # fmt: skip
        found = (
            await session.execute(
                select(_customers.c.name, _customers.c.email).where(
                    _customers.c.id == purchase.customer_id
                )
            )
        ).one()
        buyer = (found.name, found.email)
        net = purchase.amount - purchase.vat_amount
        rate = str((Decimal(purchase.vat_amount) / net).quantize(Decimal("0.0001")).normalize()
                   if net else 0)  # fmt: skip
    year = now.year
    seq = await next_number(session, year, CreditNoteCounter)
    what = "Refund" if kind is CreditNoteKind.refund else "Chargeback (dispute lost)"
    of = f"receipt {receipt.number}" if receipt is not None else f"purchase {purchase.id}"
    note = CreditNote(
        id=new_id("crn"), number=f"CN-{year}-{seq:06d}", year=year, seq=seq, kind=kind.value,
        source_key=source_key, reference=reference, purchase_id=purchase.id,
        receipt_number=receipt.number if receipt is not None else None,
        customer_id=purchase.customer_id, issued_at=now, seller_name=seller[0],
        seller_address=seller[1], seller_tax_id=seller[2], buyer_name=buyer[0],
        buyer_email=buyer[1],
        description=f"{what} on {of}: support credits, pack '{purchase.pack}'",
        currency=purchase.currency, gross=gross, net=gross - vat, vat=vat, vat_rate=rate,
    )  # fmt: skip
    session.add(note)
    await session.flush()
    return note


async def get(session: AsyncSession, credit_note_id: str) -> CreditNote:
    note = await session.get(CreditNote, credit_note_id)
    if note is None:
        raise NotFound("No such credit note.")
    return note


async def list_for_customer(
    session: AsyncSession,
    customer_id: str,
    *,
    limit: int,
    cursor: str | None,
    purchase_id: str | None = None,
) -> Page[CreditNoteRead]:
    """Newest first; the cursor is the last row's (issued_at, id)."""
    stmt = select(CreditNote).where(CreditNote.customer_id == customer_id)
    if purchase_id is not None:
        stmt = stmt.where(CreditNote.purchase_id == purchase_id)
    position = cursor_instant_id(cursor, "before", "id")
    if position is not None:
        before, before_id = position
        stmt = stmt.where(
            or_(
                CreditNote.issued_at < before,
                and_(CreditNote.issued_at == before, CreditNote.id < before_id),
            )
        )
    stmt = stmt.order_by(CreditNote.issued_at.desc(), CreditNote.id.desc()).limit(limit + 1)
    rows = list((await session.execute(stmt)).scalars())
    more, rows = len(rows) > limit, rows[:limit]
    last = rows[-1] if rows else None
    return Page(
        data=[credit_note_read(n) for n in rows],
        next_cursor=(
            encode_cursor({"before": last.issued_at.isoformat(), "id": last.id})
            if more and last is not None
            else None
        ),
    )
