"""The ledger's rules at the service layer (the `db` fixture
reconciles invariants 1–5 after every test)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.kit.errors import NotFound, ValidationFailed
from credits import accounts as acc
from credits.catalogue import split_value
from credits.errors import AlreadyRefunded, InsufficientCredits, SpendBelowZero
from credits.tasks import sweep_expired
from tests.credits.conftest import Ledger

# ---------------------------------------------------------------- values


@given(
    value=st.integers(min_value=0, max_value=10**9),
    units=st.integers(min_value=1, max_value=500),
    data=st.data(),
)
def test_split_value_takes_add_up_to_the_value(value: int, units: int, data: st.DataObject) -> None:
    """However a lot is taken apart, the pieces add up to exactly what was paid, and no
    piece is worth more than one cent above or below its fair share."""
    left_value, left_units, pieces = value, units, []
    while left_units:
        take = data.draw(st.integers(min_value=1, max_value=left_units))
        piece = split_value(left_value, left_units, take)
        assert 0 <= piece <= left_value
        assert abs(piece * units - take * value) < units * take + units
        pieces.append(piece)
        left_value -= piece
        left_units -= take
    assert sum(pieces) == value
    assert left_value == 0


@pytest.mark.parametrize(
    ("credits", "price", "expected"),
    [
        (3, 10_000, [3334, 3333, 3333]),
        (5, 10_000, [2000] * 5),
        (7, 10_001, [1429, 1429, 1429, 1429, 1429, 1428, 1428]),
        (1, 3_000, [3000]),
    ],
)
async def test_lot_unit_values_add_up_to_the_price(
    ledger: Ledger, credits: int, price: int, expected: list[int]
) -> None:
    cid = await ledger.customer()
    lot = await ledger.grant(cid, credits, price)
    assert lot.unit_value == price // credits
    assert await ledger.account(acc.CASH_OFFLINE) == price
    assert await ledger.account(acc.DEFERRED) == -price
    taken = [(await ledger.charge(cid)).takes[0].value for _ in range(credits)]
    assert taken == expected
    assert sum(taken) == price
    assert await ledger.account(acc.DEFERRED) == 0
    assert await ledger.account(acc.REVENUE_SUPPORT) == -price
    assert (await ledger.lot(lot.id)).value_remaining == 0


async def test_a_multi_credit_charge_takes_the_value_of_what_it_takes(ledger: Ledger) -> None:
    cid = await ledger.customer()
    lot = await ledger.grant(cid, 3, 10_000)
    first = await ledger.charge(cid, 2)
    assert [(t.lot_id, t.credits, t.value) for t in first.takes] == [(lot.id, 2, 6667)]
    assert first.transaction.credits == -2
    assert first.transaction.balance_after == 1
    last = await ledger.charge(cid)
    assert last.takes[0].value == 3333


# ---------------------------------------------------------------- consumption order


async def test_consumption_order_soonest_expiry_then_free_then_oldest(ledger: Ledger) -> None:
    cid = await ledger.customer()
    day = timedelta(days=1)

    async def lot(amount: int, valid_days: int | None) -> str:
        ledger.clock.advance(day)
        return (await ledger.grant(cid, 1, amount, valid_days=valid_days)).id

    paid_forever_old = await lot(3000, None)
    paid_30 = await lot(3000, 31)  # expires the same moment as free_30, but is older
    free_30 = await lot(0, 30)
    free_forever = await lot(0, None)
    paid_10 = await lot(3000, 10)  # soonest expiry, though the newest expiring lot
    paid_forever_new = await lot(3000, None)
    free_forever_new = await lot(0, None)
    expected = [
        paid_10,  # soonest expiry first
        free_30,  # same expiry: free before paid, even before an older paid lot
        paid_30,
        free_forever,  # no expiry last; free before paid; then oldest
        free_forever_new,
        paid_forever_old,
        paid_forever_new,
    ]
    taken = [(await ledger.charge(cid)).takes[0].lot_id for _ in expected]
    assert taken == expected
    with pytest.raises(InsufficientCredits):
        await ledger.charge(cid)


async def test_a_charge_spans_lots_in_consumption_order(ledger: Ledger) -> None:
    cid = await ledger.customer()
    forever = await ledger.grant(cid, 5, 10_000)
    expiring = await ledger.grant(cid, 2, 6_000, valid_days=30)
    posted = await ledger.charge(cid, 3)
    assert [(t.lot_id, t.credits, t.value) for t in posted.takes] == [
        (expiring.id, 2, 6_000),
        (forever.id, 1, 2_000),
    ]
    assert posted.transaction.lot_id is None  # several lots: the lines name them
    assert (await ledger.wallet(cid)).available == 4


async def test_insufficient_credits_changes_nothing(ledger: Ledger) -> None:
    cid = await ledger.customer()
    await ledger.grant(cid, 2, 6_000)
    with pytest.raises(InsufficientCredits) as raised:
        await ledger.charge(cid, 3)
    assert (raised.value.available, raised.value.required) == (2, 3)
    assert (await ledger.wallet(cid)).available == 2
    assert [t.kind for t in await ledger.transactions(cid)] == ["grant"]


async def test_unknown_customer_is_not_found(ledger: Ledger) -> None:
    with pytest.raises(NotFound):
        await ledger.charge("cus_nobody")


# ---------------------------------------------------------------- refunds


async def test_refund_goes_back_to_its_own_lot_once(ledger: Ledger) -> None:
    cid = await ledger.customer()
    lot = await ledger.grant(cid, 3, 10_000)
    charge = await ledger.charge(cid)
    refund = await ledger.refund(charge.transaction.id)
    assert [(t.lot_id, t.credits, t.value) for t in refund.takes] == [(lot.id, 1, 3334)]
    assert refund.transaction.kind == "refund"
    assert refund.transaction.refund_of == charge.transaction.id
    assert refund.transaction.balance_after == 3
    back = await ledger.lot(lot.id)
    assert (back.remaining, back.value_remaining) == (3, 10_000)
    assert await ledger.account(acc.REVENUE_SUPPORT) == 0
    with pytest.raises(AlreadyRefunded):
        await ledger.refund(charge.transaction.id, reason="merged")
    assert (await ledger.wallet(cid)).available == 3


async def test_only_a_charge_can_be_refunded(ledger: Ledger) -> None:
    cid = await ledger.customer()
    lot = await ledger.grant(cid, 1)
    grant_txn = (await ledger.transactions(cid, "grant"))[0]
    with pytest.raises(ValidationFailed):
        await ledger.refund(grant_txn.id)
    with pytest.raises(NotFound):
        await ledger.refund("ent_missing")
    assert (await ledger.lot(lot.id)).remaining == 1


async def test_refund_after_the_lot_expired_makes_a_new_lot_with_the_same_validity(
    ledger: Ledger,
) -> None:
    cid = await ledger.customer()
    lot = await ledger.grant(cid, 2, 5_001, valid_days=30)
    charge = await ledger.charge(cid)
    assert charge.takes[0].value == 2501
    ledger.clock.advance(timedelta(days=31))
    refund = await ledger.refund(charge.transaction.id)
    new_id = refund.takes[0].lot_id
    assert new_id != lot.id
    new = await ledger.lot(new_id)
    assert (new.source, new.credits, new.remaining, new.amount, new.value_remaining) == (
        "refund",
        1,
        1,
        2501,
        2501,
    )
    assert new.origin_lot_id == lot.id
    assert new.expires_at == ledger.clock.now() + timedelta(days=30)
    old = await ledger.lot(lot.id)
    assert old.remaining == 1  # lapsed, not yet swept, and untouched by the refund
    balance = await ledger.balance(cid)
    assert balance.available == 1
    assert [l.id for l in balance.lots] == [new_id]
    assert await sweep_expired(ledger.db, ledger.clock.now()) == 1
    assert (await ledger.wallet(cid)).available == 1
    assert await ledger.account(acc.REVENUE_BREAKAGE) == -2500
    # the new lot is spendable and its value is the refunded value
    again = await ledger.charge(cid)
    assert [(t.lot_id, t.value) for t in again.takes] == [(new_id, 2501)]


async def test_refund_exactly_at_expiry_makes_a_new_lot(ledger: Ledger) -> None:
    cid = await ledger.customer()
    lot = await ledger.grant(cid, 1, valid_days=1)
    charge = await ledger.charge(cid)
    ledger.clock.advance(timedelta(days=1))  # expires_at <= now: lapsed
    refund = await ledger.refund(charge.transaction.id)
    assert refund.takes[0].lot_id != lot.id
    assert (await ledger.balance(cid)).available == 1


# ---------------------------------------------------------------- expiry


async def test_expiry_sweep_writes_off_lapsed_credits_once(ledger: Ledger) -> None:
    cid = await ledger.customer()
    other = await ledger.customer("Other")
    expiring = await ledger.grant(cid, 3, 9_000, valid_days=10)
    await ledger.grant(cid, 2)  # no expiry
    await ledger.grant(other, 1, 3_000, valid_days=20)
    await ledger.charge(cid)  # from the expiring lot: 3000
    ledger.clock.advance(timedelta(days=10) - timedelta(seconds=1))
    assert await sweep_expired(ledger.db, ledger.clock.now()) == 0
    assert (await ledger.balance(cid)).available == 4
    ledger.clock.advance(timedelta(seconds=1))
    assert (await ledger.balance(cid)).available == 2  # shown without the lapsed lot
    assert await sweep_expired(ledger.db, ledger.clock.now()) == 2
    assert await sweep_expired(ledger.db, ledger.clock.now()) == 0  # idempotent
    (expiry,) = await ledger.transactions(cid, "expiry")
    assert (expiry.credits, expiry.balance_after, expiry.lot_id) == (-2, 2, expiring.id)
    assert await ledger.account(acc.REVENUE_BREAKAGE) == -6_000
    assert await ledger.account(acc.EXPIRED, "CREDIT") == 2
    assert (await ledger.lot(expiring.id)).value_remaining == 0
    assert (await ledger.wallet(other)).available == 1


async def test_a_charge_expires_lapsed_lots_first(ledger: Ledger) -> None:
    cid = await ledger.customer()
    await ledger.grant(cid, 2, valid_days=5)
    keep = await ledger.grant(cid, 1)
    ledger.clock.advance(timedelta(days=6))
    posted = await ledger.charge(cid)
    assert posted.takes[0].lot_id == keep.id
    assert [t.kind for t in await ledger.transactions(cid)] == [
        "grant",
        "grant",
        "expiry",
        "charge",
    ]
    with pytest.raises(InsufficientCredits):
        await ledger.charge(cid)


# ---------------------------------------------------------------- adjustments


async def test_adjustments_grant_and_debit_with_their_reason(ledger: Ledger) -> None:
    cid = await ledger.customer()
    paid = await ledger.grant(cid, 2, 6_000)
    plus = await ledger.adjust(cid, 3, reason="goodwill after outage", valid_days=30, actor="key_1")
    assert plus.transaction.kind == "adjustment"
    assert (plus.transaction.credits, plus.transaction.memo) == (3, "goodwill after outage")
    assert plus.transaction.actor == "key_1"
    assert plus.lot is not None
    assert (plus.lot.source, plus.lot.amount) == ("adjustment", 0)
    assert plus.lot.expires_at == ledger.clock.now() + timedelta(days=30)
    minus = await ledger.adjust(cid, -4, reason="duplicate grant")
    assert minus.transaction.kind == "adjustment"
    assert (minus.transaction.credits, minus.transaction.balance_after) == (-4, 1)
    # consumption order: the expiring free lot first, then the paid one
    assert [(t.lot_id, t.credits, t.value) for t in minus.takes] == [
        (plus.lot.id, 3, 0),
        (paid.id, 1, 3_000),
    ]
    assert await ledger.account(acc.REVENUE_ADJUSTMENTS) == -3_000
    with pytest.raises(InsufficientCredits):
        await ledger.adjust(cid, -2)
    with pytest.raises(ValidationFailed):
        await ledger.adjust(cid, 0)
    assert (await ledger.wallet(cid)).available == 1


# ---------------------------------------------------------------- disputes and money refunds


async def _freeze(ledger: Ledger, lot_id: str) -> object:
    from credits import service

    async with ledger.db.unit_of_work() as session:
        return await service.freeze_lot(session, lot_id, now=ledger.clock.now(), reason="dispute")


async def _release(ledger: Ledger, lot_id: str) -> object:
    from credits import service

    async with ledger.db.unit_of_work() as session:
        return await service.release_lot(session, lot_id, now=ledger.clock.now(), reason="won")


async def _revoke(ledger: Ledger, lot_id: str, refund_amount: int, frozen_only: bool) -> object:
    from credits import service

    async with ledger.db.unit_of_work() as session:
        return await service.revoke_lot(
            session,
            lot_id,
            now=ledger.clock.now(),
            reason="dispute_lost" if frozen_only else "stripe_refund",
            refund_amount=refund_amount,
            frozen_only=frozen_only,
        )


async def test_freeze_release_and_lost_dispute(ledger: Ledger) -> None:
    cid = await ledger.customer()
    lot = await ledger.grant(cid, 5, 10_000, purchase_id="pur_1")
    await ledger.charge(cid)
    assert await _freeze(ledger, lot.id) is not None
    wallet = await ledger.wallet(cid)
    assert (wallet.available, wallet.frozen) == (0, 4)
    with pytest.raises(InsufficientCredits):
        await ledger.charge(cid)
    assert await _freeze(ledger, lot.id) is None  # nothing left to freeze
    assert await _release(ledger, lot.id) is not None
    assert await _release(ledger, lot.id) is None
    wallet = await ledger.wallet(cid)
    assert (wallet.available, wallet.frozen) == (4, 0)
    await _freeze(ledger, lot.id)
    assert await _revoke(ledger, lot.id, 10_000, frozen_only=True) is not None
    wallet = await ledger.wallet(cid)
    assert (wallet.available, wallet.frozen) == (0, 0)
    back = await ledger.lot(lot.id)
    assert (back.remaining, back.frozen, back.value_remaining) == (0, 0, 0)
    assert await ledger.account(acc.REVOKED, "CREDIT") == 4
    assert await ledger.account(acc.CASH_OFFLINE) == 0
    assert await ledger.account(acc.REVENUE_REFUNDS) == 2_000  # the used credit's revenue
    assert await ledger.account(acc.DEFERRED) == 0
    kinds = [(t.kind, t.credits, t.balance_after) for t in await ledger.transactions(cid)]
    assert kinds == [
        ("grant", 5, 5),
        ("charge", -1, 4),
        ("freeze", -4, 0),
        ("release", 4, 4),
        ("freeze", -4, 0),
        ("revoke", 0, 0),
    ]


async def test_a_money_refund_revokes_only_unused_credits(ledger: Ledger) -> None:
    cid = await ledger.customer()
    lot = await ledger.grant(cid, 3, 10_000, purchase_id="pur_2")
    other = await ledger.grant(cid, 1)
    await ledger.charge(cid)  # free lot first? no: both never expire, free before paid
    await ledger.charge(cid)  # then the paid lot: 3334
    await _revoke(ledger, lot.id, 10_000, frozen_only=False)
    back = await ledger.lot(lot.id)
    assert (back.remaining, back.value_remaining) == (0, 0)
    assert (await ledger.lot(other.id)).remaining == 0
    assert (await ledger.wallet(cid)).available == 0
    assert await ledger.account(acc.REVENUE_REFUNDS) == 3_334
    assert await ledger.account(acc.REVENUE_SUPPORT) == -3_334
    assert await ledger.account(acc.CASH_OFFLINE) == 0


async def test_refund_of_a_charge_into_a_frozen_lot_joins_the_hold(ledger: Ledger) -> None:
    """A disputed lot's credits are held: a credit refunded into it is held too, and a lost
    dispute revokes it with the rest."""
    cid = await ledger.customer()
    lot = await ledger.grant(cid, 2, 6_000)
    charge = await ledger.charge(cid)
    await _freeze(ledger, lot.id)
    await ledger.refund(charge.transaction.id)
    wallet = await ledger.wallet(cid)
    assert (wallet.available, wallet.frozen) == (0, 2)
    await _revoke(ledger, lot.id, 6_000, frozen_only=True)
    wallet = await ledger.wallet(cid)
    assert (wallet.available, wallet.frozen) == (0, 0)
    assert await ledger.account(acc.DEFERRED) == 0


async def test_refund_of_a_charge_into_a_revoked_lot_is_not_spendable(ledger: Ledger) -> None:
    """The purchase's money went back: a ticket refund afterwards must not hand the
    customer a credit from that purchase."""
    cid = await ledger.customer()
    lot = await ledger.grant(cid, 2, 6_000)
    charge = await ledger.charge(cid)
    await _revoke(ledger, lot.id, 6_000, frozen_only=False)
    await ledger.refund(charge.transaction.id)
    assert (await ledger.wallet(cid)).available == 0


# ---------------------------------------------------------------- spend rewards


async def test_spend_rewards_are_cumulative_and_refunds_lower_the_total(ledger: Ledger) -> None:
    cid = await ledger.customer()
    steps = [
        # amount, reference, (total, rewarded, granted)
        (5_000, "inv-1", (5_000, 0, 0)),
        (4_999, "inv-2", (9_999, 0, 0)),
        (1, "inv-3", (10_000, 1, 1)),
        (25_000, "inv-4", (35_000, 3, 2)),
        (-20_000, "ref-4", (15_000, 3, 0)),  # refund: nothing taken back
        (10_000, "inv-5", (25_000, 3, 0)),  # floor(2.5) = 2 ≤ 3 granted
        (14_999, "inv-6", (39_999, 3, 0)),
        (1, "inv-7", (40_000, 4, 1)),
    ]
    for amount, reference, expected in steps:
        result = await ledger.spend(cid, amount, reference)
        assert (result.total, result.rewarded_credits, result.credits_granted) == expected
        assert result.recorded
    repeat = await ledger.spend(cid, 1_000_000, "inv-4")
    assert not repeat.recorded
    assert (repeat.total, repeat.rewarded_credits, repeat.credits_granted) == (40_000, 4, 0)
    lots = await ledger.lots(cid)
    assert [(l.source, l.credits, l.amount, l.expires_at) for l in lots] == [
        ("spend_reward", 1, 0, None),
        ("spend_reward", 2, 0, None),
        ("spend_reward", 1, 0, None),
    ]
    assert (await ledger.wallet(cid)).available == 4
    balance = await ledger.balance(cid)
    assert balance.spend.total.amount == 40_000
    assert balance.spend.next_reward_at.amount == 50_000


async def test_a_spend_reference_is_per_customer(ledger: Ledger) -> None:
    a, b = await ledger.customer("A"), await ledger.customer("B")
    assert (await ledger.spend(a, 10_000, "inv-1")).credits_granted == 1
    assert (await ledger.spend(b, 10_000, "inv-1")).credits_granted == 1


async def test_a_refund_below_zero_is_refused_and_changes_nothing(ledger: Ledger) -> None:
    cid = await ledger.customer()
    with pytest.raises(SpendBelowZero):
        await ledger.spend(cid, -30_000, "ref-0")
    assert (await ledger.spend(cid, 9_999, "inv-1")).credits_granted == 0
    assert (await ledger.spend(cid, 1, "inv-2")).credits_granted == 1
