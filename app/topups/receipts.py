"""Mailing receipts and credit notes: each receipt issued in a purchase's success
transaction, and each credit note issued with a refund or a lost dispute, is queued in the
e-mail outbox once (`mailed_at`, set in the same transaction as the queued mail).

The credit note's text is `credit_note_body`, the one place it is written (English, like
the receipt's, until the mail texts move into app.kit.i18n's catalogues)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select

from app.email import outbox
from app.email.models import OutboxKind
from app.kit.db import Database
from app.settings import Settings
from billing.models import CreditNote, Receipt

D = TypeVar("D", Receipt, CreditNote)


def _money(cents: int, currency: str) -> str:
    return f"{cents // 100:,}.{cents % 100:02d} {currency}"


def body(receipt: Receipt, settings: Settings) -> str:
    link = (
        f"\nYour receipts are in the cabinet: {settings.cabinet_url}\n"
        if settings.cabinet_url
        else ""
    )
    seller = "\n".join(
        x for x in (receipt.seller_name, receipt.seller_address,
                    f"VAT / tax ID: {receipt.seller_tax_id}" if receipt.seller_tax_id else "") if x
    )  # fmt: skip
    return (
        f"Hello {receipt.buyer_name},\n\nthank you for your purchase. Your receipt:\n\n"
        f"Receipt no. {receipt.number}, {receipt.issued_at:%Y-%m-%d}\n{receipt.description}\n"
        f"Net:   {_money(receipt.net, receipt.currency)}\n"
        f"VAT ({receipt.vat_rate}): {_money(receipt.vat, receipt.currency)}\n"
        f"Total: {_money(receipt.gross, receipt.currency)} (VAT included)\n\n"
        f"Seller:\n{seller}\n{link}\nThe PDF: GET /v1/purchases/{receipt.purchase_id}/receipt.pdf"
    )


async def mail_receipts(
    db: Database, settings: Settings, now: datetime, *, batch: int = 100
) -> int:
    return await _mail_once(
        db, Receipt, settings, now, batch=batch,
        subject=lambda r: f"Your receipt {r.number}", body=lambda r: body(r, settings),
    )  # fmt: skip


def credit_note_body(note: CreditNote) -> str:
    corrects = f" (correcting receipt {note.receipt_number})" if note.receipt_number else ""
    return (
        f"Hello {note.buyer_name},\n\nmoney went back to you on your purchase{corrects}. "
        f"Your credit note:\n\nCredit note no. {note.number}, {note.issued_at:%Y-%m-%d}\n"
        f"{note.description}\n"
        f"Net:   {_money(note.net, note.currency)}\n"
        f"VAT ({note.vat_rate}): {_money(note.vat, note.currency)}\n"
        f"Total credited: {_money(note.gross, note.currency)} (VAT included)\n\n"
        f"The PDF: GET /v1/credit-notes/{note.id}.pdf"
    )


async def mail_credit_notes(
    db: Database, settings: Settings, now: datetime, *, batch: int = 100
) -> int:
    return await _mail_once(
        db, CreditNote, settings, now, batch=batch,
        subject=lambda n: f"Your credit note {n.number}", body=credit_note_body,
    )  # fmt: skip


async def _mail_once(
    db: Database,
    model: type[D],
    settings: Settings,
    now: datetime,
    *,
    batch: int,
    subject: Callable[[D], str],
    body: Callable[[D], str],
) -> int:
    """Queues each document not mailed yet, oldest first, and marks it in the same
    transaction (rows another run holds are skipped, not waited for)."""
    async with db.unit_of_work() as session:
        stmt = (
            select(model)
            .where(model.mailed_at.is_(None))
            .order_by(model.issued_at, model.seq)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        rows = list((await session.execute(stmt)).scalars())
        for doc in rows:
            await outbox.enqueue(
                session, kind=OutboxKind.receipt, recipient=doc.buyer_email,
                subject=subject(doc), body=body(doc), settings=settings, now=now,
            )  # fmt: skip
            doc.mailed_at = now
        return len(rows)
