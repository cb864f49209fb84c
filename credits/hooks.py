"""Balance listeners: what features above the ledger do when a balance falls.

The ledger may not import billing or app features, so features register listeners on the
`Database`'s session factory (`install`, called by the composition root). The ledger calls
them from `_post`, with the wallet still locked and in the same transaction as the debit, so
a listener sees every drop exactly once, in order, and whatever it writes commits or rolls
back with the debit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

INFO_KEY = "creditdesk.balance_listeners"


@dataclass(frozen=True, slots=True)
class BalanceDrop:
    customer_id: str
    before: int  # available credits before the entry
    after: int  # and after it
    entry_id: str  # the journal transaction (`ent_…`) that lowered the balance
    kind: str
    now: datetime


Listener = Callable[[AsyncSession, BalanceDrop], Awaitable[None]]


def install(sessionmaker: async_sessionmaker[AsyncSession], *listeners: Listener) -> None:
    """Every session the factory makes from now on calls `listeners` on a balance drop."""
    info = dict(sessionmaker.kw.get("info") or {})
    info[INFO_KEY] = tuple(listeners)
    sessionmaker.configure(info=info)


async def notify(session: AsyncSession, drop: BalanceDrop) -> None:
    for listener in session.info.get(INFO_KEY, ()):
        await listener(session, drop)
