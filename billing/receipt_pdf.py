"""A receipt (and a credit note, laid out alike) as a one-page PDF (fpdf2), with an embedded TrueType font so that Cyrillic
and other non-Latin names print (DejaVu Sans from Debian's fonts-dejavu-core by default,
`CREDITDESK_RECEIPT_FONT_PATH`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from fpdf import FPDF

from app.kit.errors import AppError
from billing.models import CreditNote, Receipt


class ReceiptFontMissing(AppError):
    status, code = 503, "receipt_font_missing"


def _money(cents: int, currency: str) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100:,}.{cents % 100:02d} {currency}"


@dataclass(frozen=True, slots=True)
class _Document:
    """What a receipt and a credit note print alike."""

    title: str
    number: str
    issued_at: datetime
    seller: list[str]
    buyer: list[str]
    description: str
    currency: str
    gross: int
    net: int
    vat: int
    vat_rate: str
    total_label: str
    footer: str


def render(receipt: Receipt, *, font_path: str) -> bytes:
    return _render(
        _Document(
            title="Receipt", number=receipt.number, issued_at=receipt.issued_at,
            seller=_seller(receipt.seller_name, receipt.seller_address, receipt.seller_tax_id),
            buyer=[receipt.buyer_name, receipt.buyer_email, f"Customer {receipt.customer_id}"],
            description=receipt.description, currency=receipt.currency, gross=receipt.gross,
            net=receipt.net, vat=receipt.vat, vat_rate=receipt.vat_rate,
            total_label="Total paid (VAT included)",
            footer=f"Purchase {receipt.purchase_id}. Prepaid support credits; one credit pays "
            "for one technical-support request.",
        ),
        font_path=font_path,
        author=receipt.seller_name,
    )  # fmt: skip


def render_credit_note(note: CreditNote, *, font_path: str) -> bytes:
    """A credit note: the money given back, with the VAT in it, correcting its receipt."""
    corrects = f"Corrects receipt {note.receipt_number}" if note.receipt_number else ""
    return _render(
        _Document(
            title="Credit note", number=note.number, issued_at=note.issued_at,
            seller=_seller(note.seller_name, note.seller_address, note.seller_tax_id),
            buyer=[note.buyer_name, note.buyer_email, f"Customer {note.customer_id}"],
            description=note.description, currency=note.currency, gross=note.gross,
            net=note.net, vat=note.vat, vat_rate=note.vat_rate,
            total_label="Total credited (VAT included)",
            footer=". ".join(x for x in (corrects, f"Purchase {note.purchase_id}",
                                         f"Reference {note.reference}" if note.reference else "")
                             if x) + ".",
        ),
        font_path=font_path,
        author=note.seller_name,
        creation=note.issued_at,  # the same note, the same bytes
    )  # fmt: skip


def _seller(name: str, address: str, tax_id: str | None) -> list[str]:
    seller = [name, address]
    if tax_id:
        seller.append(f"VAT / tax ID: {tax_id}")
    return seller


def _render(
    doc: _Document, *, font_path: str, author: str, creation: datetime | None = None
) -> bytes:
    font = Path(font_path)
    if not font.is_file():
        raise ReceiptFontMissing(
            f"The receipt font {font_path} is not installed (Debian: fonts-dejavu-core)."
        )
    bold = font.with_name(font.stem + "-Bold" + font.suffix)
    pdf = FPDF(format="A4")
    if creation is not None:
        pdf.set_creation_date(creation)
    pdf.set_title(f"{doc.title} {doc.number}")
    pdf.set_author(author)
    pdf.add_font("Body", "", str(font))
    pdf.add_font("Body", "B", str(bold if bold.is_file() else font))
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    pdf.set_margins(20, 20, 20)
    width = pdf.w - 40

    pdf.set_font("Body", "B", 20)
    pdf.cell(width, 12, doc.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Body", "", 10)
    pdf.set_text_color(95, 107, 125)
    pdf.cell(width, 6, f"No. {doc.number}  ·  {doc.issued_at:%Y-%m-%d %H:%M} UTC",
             new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.ln(6)

    def block(title: str, lines: list[str]) -> None:
        pdf.set_text_color(95, 107, 125)
        pdf.set_font("Body", "B", 9)
        pdf.cell(width, 6, title.upper(), new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(28, 34, 48)
        pdf.set_font("Body", "", 11)
        for line in lines:
            if line:
                pdf.multi_cell(width, 6, line, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)

    block("Seller", doc.seller)
    block("Buyer", doc.buyer)

    pdf.set_draw_color(227, 230, 235)
    pdf.line(20, pdf.get_y(), 20 + width, pdf.get_y())
    pdf.ln(3)
    pdf.set_font("Body", "", 11)
    pdf.multi_cell(width - 45, 6, doc.description, new_x="RIGHT", new_y="TOP")
    pdf.cell(45, 6, _money(doc.gross, doc.currency), align="R",
             new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.ln(4)
    pdf.line(20, pdf.get_y(), 20 + width, pdf.get_y())
    pdf.ln(3)
    rate = Decimal(doc.vat_rate) * 100
    rows = [
        ("Net", _money(doc.net, doc.currency)),
        (f"VAT {rate.normalize():f} %", _money(doc.vat, doc.currency)),
    ]
    for label, value in rows:
        pdf.cell(width - 45, 7, label, align="R")
        pdf.cell(45, 7, value, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Body", "B", 12)
    pdf.cell(width - 45, 9, doc.total_label, align="R")
    pdf.cell(45, 9, _money(doc.gross, doc.currency), align="R",
             new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.ln(8)
    pdf.set_font("Body", "", 9)
    pdf.set_text_color(95, 107, 125)
    pdf.multi_cell(width, 5, doc.footer)
    return bytes(pdf.output())
