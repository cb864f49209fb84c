"""A receipt as a one-page PDF (fpdf2), with an embedded TrueType font so that Cyrillic
and other non-Latin names print (DejaVu Sans from Debian's fonts-dejavu-core by default,
`CREDITDESK_RECEIPT_FONT_PATH`)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from fpdf import FPDF

from app.kit.errors import AppError
from billing.models import Receipt


class ReceiptFontMissing(AppError):
    status, code = 503, "receipt_font_missing"


def _money(cents: int, currency: str) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100:,}.{cents % 100:02d} {currency}"


def render(receipt: Receipt, *, font_path: str) -> bytes:
    font = Path(font_path)
    if not font.is_file():
        raise ReceiptFontMissing(
            f"The receipt font {font_path} is not installed (Debian: fonts-dejavu-core)."
        )
    bold = font.with_name(font.stem + "-Bold" + font.suffix)
    pdf = FPDF(format="A4")
    pdf.set_title(f"Receipt {receipt.number}")
    pdf.set_author(receipt.seller_name)
    pdf.add_font("Body", "", str(font))
    pdf.add_font("Body", "B", str(bold if bold.is_file() else font))
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    pdf.set_margins(20, 20, 20)
    width = pdf.w - 40

    pdf.set_font("Body", "B", 20)
    pdf.cell(width, 12, "Receipt", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Body", "", 10)
    pdf.set_text_color(95, 107, 125)
    pdf.cell(width, 6, f"No. {receipt.number}  ·  {receipt.issued_at:%Y-%m-%d %H:%M} UTC",
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

    seller = [receipt.seller_name, receipt.seller_address]
    if receipt.seller_tax_id:
        seller.append(f"VAT / tax ID: {receipt.seller_tax_id}")
    block("Seller", seller)
    block("Buyer", [receipt.buyer_name, receipt.buyer_email, f"Customer {receipt.customer_id}"])

    pdf.set_draw_color(227, 230, 235)
    pdf.line(20, pdf.get_y(), 20 + width, pdf.get_y())
    pdf.ln(3)
    pdf.set_font("Body", "", 11)
    pdf.multi_cell(width - 45, 6, receipt.description, new_x="RIGHT", new_y="TOP")
    pdf.cell(45, 6, _money(receipt.gross, receipt.currency), align="R",
             new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.ln(4)
    pdf.line(20, pdf.get_y(), 20 + width, pdf.get_y())
    pdf.ln(3)
    rate = Decimal(receipt.vat_rate) * 100
    rows = [
        ("Net", _money(receipt.net, receipt.currency)),
        (f"VAT {rate.normalize():f} %", _money(receipt.vat, receipt.currency)),
    ]
    for label, value in rows:
        pdf.cell(width - 45, 7, label, align="R")
        pdf.cell(45, 7, value, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Body", "B", 12)
    pdf.cell(width - 45, 9, "Total paid (VAT included)", align="R")
    pdf.cell(45, 9, _money(receipt.gross, receipt.currency), align="R",
             new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.ln(8)
    pdf.set_font("Body", "", 9)
    pdf.set_text_color(95, 107, 125)
    pdf.multi_cell(
        width, 5,
        f"Purchase {receipt.purchase_id}. Prepaid support credits; one credit pays for one "
        "technical-support request.",
    )  # fmt: skip
    return bytes(pdf.output())
