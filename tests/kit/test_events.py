"""The events outbox: a row is written with its change and vanishes with its rollback."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.kit.clock import FrozenClock
from app.kit.db import Database
from app.kit.events import Event, EventType, record_event


async def test_event_committed_with_its_transaction(db: Database, clock: FrozenClock) -> None:
    async with db.unit_of_work() as session:
        event = record_event(
            session,
            EventType.customer_created,
            customer_id="cus_1",
            obj={"id": "cus_1", "name": "Acme"},
            now=clock.now(),
            previous={"name": "Old"},
        )
        await session.flush()
        first_seq = event.seq
    async with db.unit_of_work() as session:
        second = record_event(
            session, EventType.balance_low, customer_id=None, obj={"x": 1}, now=clock.now()
        )
        await session.flush()
        assert second.seq > first_seq
    async with db.unit_of_work() as session:
        rows = (await session.execute(select(Event).order_by(Event.seq))).scalars().all()
    assert [r.type for r in rows] == ["customer.created", "balance.low"]
    assert rows[0].id.startswith("evt_")
    assert rows[0].data == {"object": {"id": "cus_1", "name": "Acme"}}
    assert rows[0].previous == {"name": "Old"}
    assert rows[0].created_at == clock.now()
    assert rows[0].dispatched_at is None and rows[1].previous is None


async def test_rolled_back_change_leaves_no_event(db: Database, clock: FrozenClock) -> None:
    with pytest.raises(RuntimeError):
        async with db.unit_of_work() as session:
            record_event(
                session, EventType.ticket_created, customer_id="cus_1", obj={}, now=clock.now()
            )
            await session.flush()
            raise RuntimeError("the change failed")
    async with db.unit_of_work() as session:
        assert await session.scalar(select(func.count()).select_from(Event)) == 0
