"""Credit notes (issue 27): one per refund and per lost dispute of a purchase, made with the
refund in its transaction, numbered gap-free apart from receipts, carrying the receipt's VAT
in proportion, cents exact (the notes of a purchase whose money all went back add up to its
receipt), readable by their customer only, as JSON and as a PDF with DejaVu Sans embedded,
and mailed once. Refunds are made with the real SDK on localstripe; the events are signed
as Stripe signs them."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, cast

import pytest
import stripe
from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfReader

from app.kit.auth import Role
from app.topups.receipts import mail_credit_notes
from billing import credit_notes
from billing import service as billing
from billing.models import CreditNote, CreditNoteKind, Purchase
from billing.tasks import sync_payments
from credits.catalogue import split_vat
from tests.billing.conftest import VISA_OK, deliver, event
from tests.billing.helpers import dispute, stripe_purchase
from tests.billing.test_partial_refunds import reconcile_ok, refund
from tests.billing.test_stripe_purchases import pay
from tests.conftest import Api

VAT = Decimal("0.19")


def _purchase(gross: int, vat: int, refunded: int = 0) -> Purchase:
    return cast(Purchase, SimpleNamespace(amount=gross, vat_amount=vat, amount_refunded=refunded))


# ---------------------------------------------------------------- the rounding rule


def test_the_vat_of_refunds_in_parts_is_the_receipt_s_to_the_cent() -> None:
    """The rule (docs/payments.md): each note's VAT is the cumulative proportional share of
    the receipt's VAT, rounded half up, minus what earlier notes carried; a lost dispute
    takes the share of what is left, all of it when it takes the whole rest."""
    p = _purchase(10_000, 1597)
    assert credit_notes.refund_vat(p, total=2000, delta=2000) == 319  # 319.4
    assert credit_notes.refund_vat(p, total=3500, delta=1500) == 240  # 558.95 → 559 − 319
    after = _purchase(10_000, 1597, refunded=3500)
    assert credit_notes.dispute_vat(after, taken=6500) == 1597 - 559
    assert credit_notes.refund_vat(p, total=10_000, delta=10_000) == 1597


@given(
    gross=st.integers(1, 2_000_000),
    rate=st.sampled_from([Decimal("0.19"), Decimal("0.07"), Decimal("0.2"), Decimal("0.21")]),
    cuts=st.lists(st.floats(0.0, 1.0), max_size=6),
    dispute_rest=st.booleans(),
)
def test_notes_of_a_purchase_whose_money_all_went_back_add_up_to_its_receipt(
    gross: int, rate: Decimal, cuts: list[float], dispute_rest: bool
) -> None:
    net, vat = split_vat(gross, rate)
    points = sorted({int(gross * c) for c in cuts} - {0, gross})
    totals = [*points, gross] if not dispute_rest else points
    notes, before = [], 0
    for total in totals:
        share = credit_notes.refund_vat(_purchase(gross, vat), total=total, delta=total - before)
        notes.append((total - before, share))
        before = total
    if dispute_rest:
        taken = gross - before
        notes.append((taken, credit_notes.dispute_vat(_purchase(gross, vat, before), taken=taken)))
    assert sum(g for g, _ in notes) == gross
    assert sum(v for _, v in notes) == vat
    assert sum(g - v for g, v in notes) == net
    assert all(0 <= v <= g for g, v in notes)


# ---------------------------------------------------------------- end to end on localstripe


async def _notes(api: Api, customer_id: str, key: dict[str, str]) -> list[dict[str, Any]]:
    response = await api.client.get(f"/v1/customers/{customer_id}/credit-notes", headers=key)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def test_refunds_and_a_lost_dispute_give_numbered_notes_that_add_up_to_the_receipt(
    api: Api, stripe_client: stripe.StripeClient, run_sql: Any
) -> None:
    api.app.state.settings = api.app.state.settings.model_copy(
        update={"vat_rate": VAT, "receipt_seller_name": "CreditDesk GmbH",
                "receipt_seller_address": "Berlin", "receipt_seller_tax_id": "DE123"}
    )  # fmt: skip
    customer_id, purchase, intent = await stripe_purchase(
        api, stripe_client, name="Ромашка Хостинг", email="it@romashka.example"
    )
    await pay(stripe_client, purchase["payment_intent_id"], VISA_OK)
    await sync_payments(api.db, api.app.state.payments, api.app.state.settings, api.clock.now())
    own = await api.key(Role.customer, customer_id)
    receipt = (await api.client.get(f"/v1/purchases/{purchase['id']}", headers=own)).json()
    assert receipt["receipt_number"] == "2026-000001"
    assert (receipt["amount"]["amount"], receipt["vat"]["amount"]) == (10_000, 1597)

    first = await refund(stripe_client, intent["id"], 2000)
    assert (await deliver(api.client, first)).json()["outcome"] == "processed"
    assert (await deliver(api.client, first)).json()["outcome"] == "duplicate"
    api.clock.advance(timedelta(minutes=1))
    second = await refund(stripe_client, intent["id"], 1500)
    # Stripe sends it twice at once, as two events: one note.
    twice = [second, second.replace('"id": "evt_', '"id": "evt_again_', 1)]
    outcomes = await asyncio.gather(*(deliver(api.client, p) for p in twice))
    assert sorted(r.json()["outcome"] for r in outcomes) == ["processed", "processed"]
    api.clock.advance(timedelta(minutes=1))
    lost = event("charge.dispute.closed", dispute(intent, status="lost"), event_id="evt_lost")
    assert (await deliver(api.client, lost)).json()["outcome"] == "processed"
    assert (await deliver(api.client, lost.replace("evt_lost", "evt_lost2"))).json()[
        "outcome"
    ] == "processed"

    notes = await _notes(api, customer_id, own)
    assert [(n["number"], n["kind"], n["amount"]["amount"], n["vat"]["amount"],
             n["net"]["amount"]) for n in reversed(notes)] == [
        ("CN-2026-000001", "refund", 2000, 319, 1681),
        ("CN-2026-000002", "refund", 1500, 240, 1260),
        ("CN-2026-000003", "dispute_lost", 6500, 1038, 5462),
    ]  # fmt: skip
    assert {(n["receipt_number"], n["vat_rate"], n["purchase_id"]) for n in notes} == {
        ("2026-000001", "0.19", purchase["id"])
    }
    assert sum(n["vat"]["amount"] for n in notes) == 1597
    assert sum(n["net"]["amount"] for n in notes) == 10_000 - 1597
    # Each note says what its transaction took out of vat:payable.
    booked = await run_sql(
        "SELECT l.amount FROM journal_lines l JOIN journal_transactions t "
        "ON t.seq = l.transaction_seq WHERE t.purchase_id = :p AND l.account = 'vat:payable' "
        "AND l.amount > 0 ORDER BY t.seq",
        p=purchase["id"],
    )
    assert [int(a) for (a,) in booked] == [319, 240, 1038]
    assert await run_sql("SELECT year, last FROM credit_note_counters") == [(2026, 3)]
    assert await run_sql("SELECT year, last FROM receipt_counters") == [(2026, 1)]

    # Reading them: the customer its own, staff too; another customer gets 404.
    note = notes[-1]
    got = await api.client.get(f"/v1/credit-notes/{note['id']}", headers=own)
    assert got.status_code == 200 and got.json() == note
    other_id = (await api.customer(name="Other", email="o@example.com"))["id"]
    other = await api.key(Role.customer, other_id)
    for path in (f"/v1/credit-notes/{note['id']}", f"/v1/credit-notes/{note['id']}.pdf"):
        foreign = await api.client.get(path, headers=other)
        assert foreign.status_code == 404 and foreign.json()["code"] == "not_found"
    assert await _notes(api, other_id, other) == []
    assert (await api.client.get(f"/v1/customers/{customer_id}/credit-notes",
                                 headers=other)).status_code == 404  # fmt: skip
    finance = await api.key(Role.finance)
    assert (await api.client.get(f"/v1/credit-notes/{note['id']}", headers=finance)).is_success
    missing = await api.client.get("/v1/credit-notes/crn_nope", headers=api.admin)
    assert missing.status_code == 404

    pdf = await api.client.get(f"/v1/credit-notes/{note['id']}.pdf", headers=own)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert 'filename="credit-note-CN-2026-000001.pdf"' in pdf.headers["content-disposition"]
    reader = PdfReader(io.BytesIO(pdf.content))
    text = " ".join(reader.pages[0].extract_text().split())  # multi_cell justifies
    for expected in ("Credit note", "CN-2026-000001", "Corrects receipt 2026-000001",
                     "Ромашка Хостинг", "CreditDesk GmbH", "VAT / tax ID: DE123",
                     "16.81 EUR", "3.19 EUR", "20.00 EUR", "VAT 19 %"):  # fmt: skip
        assert expected in text, (expected, text)
    fonts = {str(f["/BaseFont"]) for f in reader.pages[0]["/Resources"]["/Font"].values()}
    assert any("DejaVuSans" in f for f in fonts), fonts
    assert b"/FontFile2" in pdf.content  # the TrueType font is embedded
    again = await api.client.get(f"/v1/credit-notes/{note['id']}.pdf", headers=api.admin)
    assert again.content == pdf.content  # the same note, the same bytes

    settings = api.app.state.settings
    assert await mail_credit_notes(api.db, settings, api.clock.now()) == 3
    assert await mail_credit_notes(api.db, settings, api.clock.now()) == 0
    mails = await run_sql(
        "SELECT recipient, subject FROM email_outbox WHERE subject LIKE '%credit note%' "
        "ORDER BY subject"
    )
    assert mails == [("it@romashka.example", f"Your credit note CN-2026-00000{i}")
                     for i in (1, 2, 3)]  # fmt: skip
    await reconcile_ok(api)


# ---------------------------------------------------------------- numbering


async def _offline_purchase(api: Api, name: str) -> tuple[str, str]:
    customer = await api.customer(name=name, email=f"{name.lower()}@example.com")
    async with api.db.unit_of_work() as session:
        purchase = await billing.open_purchase(
            session, customer_id=customer["id"], pack_code="five",
            settings=api.app.state.settings.model_copy(update={"stripe_secret_key": None}),
            now=api.clock.now(),
        )  # fmt: skip
        assert purchase.status == "succeeded"
        return customer["id"], purchase.id


async def _refund(api: Api, purchase_id: str, total: int, delta: int) -> None:
    async with api.db.unit_of_work() as session:
        row = await billing.lock_purchase(session, Purchase.id == purchase_id)
        assert row is not None
        await billing.refund_purchase(session, row, total=total, delta=delta, reference=None,
                                      now=api.clock.now(), settings=api.app.state.settings)  # fmt: skip


class _Abort(Exception):
    pass


@pytest.mark.slow
async def test_numbers_are_gap_free_under_concurrency_and_a_rollback_gives_its_back(
    api: Api, run_sql: Any
) -> None:
    bought = [await _offline_purchase(api, f"Shop{i}") for i in range(12)]
    # A refund whose transaction rolls back (after its note took a number) leaves no gap.
    with pytest.raises(_Abort):
        async with api.db.unit_of_work() as session:
            row = await billing.lock_purchase(session, Purchase.id == bought[0][1])
            assert row is not None
            note = await credit_notes.issue(
                session, row, kind=CreditNoteKind.refund, source_key="probe", gross=1, vat=0,
                reference=None, settings=None, now=api.clock.now(),
            )  # fmt: skip
            assert note.number == "CN-2026-000001"
            raise _Abort
    await asyncio.gather(*(_refund(api, pid, 1000, 1000) for _, pid in bought))
    numbers = sorted(r[0] for r in await run_sql("SELECT number FROM credit_notes"))
    assert numbers == [f"CN-2026-{n:06d}" for n in range(1, 13)]
    assert await run_sql("SELECT year, last FROM credit_note_counters") == [(2026, 12)]
    api.clock.advance(timedelta(days=60))  # a new year starts its own sequence
    await _refund(api, bought[0][1], 2000, 1000)
    async with api.db.unit_of_work() as session:
        page = await credit_notes.list_for_customer(session, bought[0][0], limit=1, cursor=None)
        assert [n.number for n in page.data] == ["CN-2027-000001"]
        rest = await credit_notes.list_for_customer(
            session, bought[0][0], limit=5, cursor=page.next_cursor
        )
        assert [n.number for n in rest.data] == ["CN-2026-" + n.number[-6:] for n in rest.data]
        assert len(rest.data) == 1 and rest.next_cursor is None
        assert await session.get(CreditNote, page.data[0].id) is not None
