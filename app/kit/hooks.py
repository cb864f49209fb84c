"""In-process hook points: a feature announces that something happened, inside the
caller's transaction, and other features react without the announcer importing them.

The announcer owns the `Hook` (e.g. `app.desk.hooks.MESSAGE_ADDED`) and calls
`publish`; a reacting feature names a `Subscription` in its `Feature` declaration and the
composition root (`app.features.wire`) connects it. Nothing subscribes by being imported.
Handlers run in order, in the same session and transaction: an exception in a handler
rolls the whole change back, as it should (the reaction is part of the change).

A handler may also declare `sql`: the name of a SQL function that says whether a payload
concerns it, for announcers that also act inside one SQL call (where no Python runs). Such
an announcer calls the predicates it knows and must not act in SQL while a handler without
one, or with one it does not call, is connected (`Hook.sql_predicates`); e.g. the desk's
one-call submission and `credits.hooks.BALANCE_DROPPED`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

E = TypeVar("E")

Handler = Callable[[AsyncSession, E], Awaitable[None]]


class Hook(Generic[E]):
    """A named point where `E` payloads are published to the handlers wired to it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._handlers: list[Handler[E]] = []
        self._sql: dict[Handler[E], str | None] = {}

    def __repr__(self) -> str:
        return f"Hook({self.name!r})"

    @property
    def handlers(self) -> tuple[Handler[E], ...]:
        return tuple(self._handlers)

    def connect(self, handler: Handler[E], *, sql: str | None = None) -> None:
        """Adds a handler once (wiring twice, as tests and workers do, is harmless); `sql`:
        its SQL predicate, if it has one (module docstring)."""
        if handler not in self._handlers:
            self._handlers.append(handler)
        self._sql[handler] = sql

    def disconnect(self, handler: Handler[E]) -> None:
        if handler in self._handlers:
            self._handlers.remove(handler)
        self._sql.pop(handler, None)

    def sql_predicates(self) -> frozenset[str] | None:
        """The SQL predicates of the connected handlers; None when one has none."""
        found = [self._sql.get(handler) for handler in self._handlers]
        if any(name is None for name in found):
            return None
        return frozenset(name for name in found if name is not None)

    async def publish(self, session: AsyncSession, payload: E) -> None:
        for handler in self._handlers:
            await handler(session, payload)


@dataclass(frozen=True)
class Subscription(Generic[E]):
    """`handler` reacts to every payload published on `hook`; `sql`: its SQL predicate
    (module docstring), if it has one."""

    hook: Hook[E]
    handler: Handler[E]
    sql: str | None = None
