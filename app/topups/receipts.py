"""Mailing receipts and credit notes: each receipt issued in a purchase's success
transaction, and each credit note issued with a refund or a lost dispute, is queued in the
e-mail outbox once (`mailed_at`, set in the same transaction as the queued mail), in the
buyer's language (`customers.locale`, texts in the `mail` catalogue)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from babel.dates import format_date
from babel.numbers import format_percent
from sqlalchemy import select

from app.customers.models import Customer
from app.email import outbox
from app.email.models import OutboxKind
from app.email.replies import money
from app.kit.db import Database
from app.kit.i18n import normalise, translate
from app.settings import Settings
from billing.models import CreditNote, Purchase, Receipt


def _rate(rate: str, locale: str) -> str:
    try:
        return format_percent(Decimal(rate), format="#,##0.##%", locale=normalise(locale))
    except (InvalidOperation, ValueError):
        return rate


def body(receipt: Receipt, purchase: Purchase, settings: Settings, locale: str) -> str:
    """The receipt's figures as the mail gives them: the numbers, names and amounts are the
    receipt's own (fixed when it was issued); the words are the customer's language."""
    currency, day = receipt.currency, normalise(locale)
    seller = "\n".join(
        x for x in (receipt.seller_name, receipt.seller_address,
                    translate(locale, "VAT / tax ID: {id}", "mail", id=receipt.seller_tax_id)
                    if receipt.seller_tax_id else "") if x
    )  # fmt: skip
    figures = (
        translate(locale, "Receipt no. {number}, {date}", "mail", number=receipt.number,
                  date=format_date(receipt.issued_at, format="long", locale=day)),
        translate(locale, "Support credits: {n} × technical-support request (pack '{pack}')",
                  "mail", n=purchase.credits, pack=purchase.pack),
        translate(locale, "Net: {amount}", "mail", amount=money(receipt.net, currency, locale)),
        translate(locale, "VAT ({rate}): {amount}", "mail", rate=_rate(receipt.vat_rate, locale),
                  amount=money(receipt.vat, currency, locale)),
        translate(locale, "Total: {amount} (VAT included)", "mail",
                  amount=money(receipt.gross, currency, locale)),
    )  # fmt: skip
    lines = [
        translate(locale, "Hello {name},", "mail", name=receipt.buyer_name),
        translate(locale, "thank you for your purchase. Your receipt:", "mail"),
        "\n".join(figures),
        translate(locale, "Seller:", "mail") + "\n" + seller,
    ]
    if settings.cabinet_url:
        lines.append(
            translate(locale, "Your receipts are in the cabinet: {url}", "mail",
                      url=settings.cabinet_url)
        )  # fmt: skip
    pdf = f"GET /v1/purchases/{receipt.purchase_id}/receipt.pdf"
    lines.append(translate(locale, "The PDF: {link}", "mail", link=pdf))
    return "\n\n".join(lines)


async def mail_receipts(
    db: Database, settings: Settings, now: datetime, *, batch: int = 100
) -> int:
    async with db.unit_of_work() as session:
        stmt = (
            select(Receipt, Purchase, Customer.locale)
            .join(Purchase, Purchase.id == Receipt.purchase_id)
            .outerjoin(Customer, Customer.id == Receipt.customer_id)
            .where(Receipt.mailed_at.is_(None))
            .order_by(Receipt.issued_at)
            .limit(batch)
            .with_for_update(of=Receipt, skip_locked=True)
        )
        rows = list((await session.execute(stmt)).all())
        for receipt, purchase, locale in rows:
            language = normalise(locale)
            await outbox.enqueue(
                session, kind=OutboxKind.receipt, recipient=receipt.buyer_email,
                subject=translate(language, "Your receipt {number}", "mail", number=receipt.number),
                body=body(receipt, purchase, settings, language), locale=language,
                settings=settings, now=now,
            )  # fmt: skip
            receipt.mailed_at = now
        return len(rows)


def credit_note_body(note: CreditNote, locale: str) -> str:
    """The credit note's figures (its own, fixed when issued) in the customer's words."""
    currency, day = note.currency, normalise(locale)
    lines = [
        translate(locale, "Hello {name},", "mail", name=note.buyer_name),
        translate(locale, "money went back to you on your purchase. Your credit note:", "mail"),
        "\n".join((
            translate(locale, "Credit note no. {number}, {date}", "mail", number=note.number,
                      date=format_date(note.issued_at, format="long", locale=day)),
            *((translate(locale, "It corrects receipt no. {number}.", "mail",
                         number=note.receipt_number),) if note.receipt_number else ()),
            translate(locale, "Net: {amount}", "mail", amount=money(note.net, currency, locale)),
            translate(locale, "VAT ({rate}): {amount}", "mail", rate=_rate(note.vat_rate, locale),
                      amount=money(note.vat, currency, locale)),
            translate(locale, "Total credited: {amount} (VAT included)", "mail",
                      amount=money(note.gross, currency, locale)),
        )),
        translate(locale, "The PDF: {link}", "mail", link=f"GET /v1/credit-notes/{note.id}.pdf"),
    ]  # fmt: skip
    return "\n\n".join(lines)


async def mail_credit_notes(
    db: Database, settings: Settings, now: datetime, *, batch: int = 100
) -> int:
    async with db.unit_of_work() as session:
        stmt = (
            select(CreditNote, Customer.locale)
            .outerjoin(Customer, Customer.id == CreditNote.customer_id)
            .where(CreditNote.mailed_at.is_(None))
            .order_by(CreditNote.issued_at, CreditNote.seq)
            .limit(batch)
            .with_for_update(of=CreditNote, skip_locked=True)
        )
        rows = list((await session.execute(stmt)).all())
        for note, locale in rows:
            language = normalise(locale)
            await outbox.enqueue(
                session, kind=OutboxKind.receipt, recipient=note.buyer_email,
                subject=translate(language, "Your credit note {number}", "mail", number=note.number),
                body=credit_note_body(note, language), locale=language,
                settings=settings, now=now,
            )  # fmt: skip
            note.mailed_at = now
        return len(rows)
