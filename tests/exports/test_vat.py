"""VAT on pack sales: prices include CREDITDESK_VAT_RATE; a sale posts the
net to deferred revenue and the VAT to `vat:payable`; recognition moves only the net; a
full refund reverses both exactly; refunds in parts reverse the VAT exactly too; the
ledger reconciles and the roll-forward (net) ties out."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.settings import Settings
from billing.exports import service as exports
from billing.exports.periods import Period
from credits import service
from credits.catalogue import split_vat, vat_share
from credits.models import Lot
from tests.billing.conftest import customer_with_key
from tests.conftest import Api

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_a_100_euro_pack_at_19_percent_is_84_03_net_and_15_97_vat() -> None:
    assert split_vat(10000, Decimal("0.19")) == (8403, 1597)
    assert split_vat(3000, Decimal("0.19")) == (2521, 479)  # 25.2100… → 25.21
    assert split_vat(10000, Decimal(0)) == (10000, 0)


@given(gross=st.integers(0, 10**9), rate=st.sampled_from(["0.05", "0.07", "0.19", "0.2", "0.255"]))
def test_vat_rounding_rule(gross: int, rate: str) -> None:
    """net = gross / (1 + rate), rounded half up to the cent; VAT = the rest."""
    net, vat = split_vat(gross, Decimal(rate))
    assert net + vat == gross and 0 <= vat <= gross
    exact = Decimal(gross) / (1 + Decimal(rate))
    assert net == exact.quantize(Decimal(1), rounding=ROUND_HALF_UP)


@given(gross=st.integers(1, 10**7), parts=st.lists(st.integers(1, 10**7), max_size=6))
def test_refunds_in_parts_reverse_the_vat_exactly(gross: int, parts: list[int]) -> None:
    _, vat = split_vat(gross, Decimal("0.19"))
    paid, owed, back = gross, vat, 0
    for part in [*parts, gross]:  # the last refund takes whatever is left
        refund = min(part, paid)
        share = vat_share(refund, owed, paid)
        assert 0 <= share <= owed and share <= refund
        paid, owed, back = paid - refund, owed - share, back + share
        if paid == 0:
            break
    assert back == vat and owed == 0


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test",
        database_url=database_url,
        database_pool_size=20,
        periodic_tasks_enabled=False,
        log_json=False,
        vat_rate=Decimal("0.19"),
    )


async def eur_lines(run_sql: Any) -> list[tuple[str, str, int]]:
    rows = await run_sql(
        "SELECT t.kind, l.account, l.amount FROM journal_lines l"
        " JOIN journal_transactions t ON t.seq = l.transaction_seq"
        " WHERE l.unit = 'EUR' ORDER BY l.id"
    )
    return [(str(k), str(a), int(n)) for k, a, n in rows]


async def test_sale_recognition_and_full_refund_with_vat(api: Api, run_sql: Any) -> None:
    customer_id, key = await customer_with_key(api)
    start = api.clock.now()
    response = await api.client.post(
        f"/v1/customers/{customer_id}/purchases", json={"pack": "five"}, headers=key
    )
    assert response.status_code == 201, response.text
    purchase = response.json()
    assert purchase["amount"]["amount"] == 10000
    assert purchase["net"]["amount"] == 8403 and purchase["vat"]["amount"] == 1597
    assert await eur_lines(run_sql) == [
        ("grant", "cash:offline", 10000),
        ("grant", "deferred_revenue", -8403),
        ("grant", "vat:payable", -1597),
    ]
    async with api.db.unit_of_work() as session:
        await service.charge(session, customer_id, now=api.clock.now(), ticket_number=1)
    async with api.db.unit_of_work() as session:
        [lot] = [lot for lot in (await session.execute(Lot.__table__.select())).all()]
        lot_id = lot.id
    async with api.db.unit_of_work() as session:
        await service.revoke_lot(
            session, lot_id, now=api.clock.now(), reason="stripe_refund", refund_amount=10000
        )
    lines = await eur_lines(run_sql)
    assert lines[3:] == [
        ("charge", "deferred_revenue", 1681),  # the net: 84.03 over 5 credits, remainder first
        ("charge", "revenue:support", -1681),
        ("revoke", "deferred_revenue", 6722),
        ("revoke", "vat:payable", 1597),  # the VAT goes back in full
        ("revoke", "revenue:refunds", 1681),  # the used credit's net, refunded too
        ("revoke", "cash:offline", -10000),
    ]
    totals: dict[str, int] = {}
    for _, account, amount in lines:
        totals[account] = totals.get(account, 0) + amount
    assert totals["vat:payable"] == 0 and totals["deferred_revenue"] == 0
    assert totals["cash:offline"] == 0
    report = await exports.deferred_revenue(
        api.db, Period(start, api.clock.now().replace(year=2027))
    )
    [eur] = report.money
    amounts = (eur.sales.amount, eur.recognised.amount, eur.refunded.amount, eur.closing.amount)
    assert amounts == (8403, 1681, 6722, 0)


async def test_an_unused_pack_refunded_in_full_reverses_its_sale_exactly(
    api: Api, run_sql: Any
) -> None:
    customer_id, key = await customer_with_key(api)
    response = await api.client.post(
        f"/v1/customers/{customer_id}/purchases", json={"pack": "single"}, headers=key
    )
    assert response.status_code == 201
    async with api.db.unit_of_work() as session:
        [lot] = (await session.execute(Lot.__table__.select())).all()
        await service.revoke_lot(
            session, lot.id, now=api.clock.now(), reason="stripe_refund", refund_amount=3000
        )
    sale, refund = (await eur_lines(run_sql))[:3], (await eur_lines(run_sql))[3:]
    assert sorted((a, -n) for _, a, n in sale) == sorted((a, n) for _, a, n in refund)
    assert ("grant", "vat:payable", -479) in sale
