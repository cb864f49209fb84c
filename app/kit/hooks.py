"""In-process hook points: a feature announces that something happened, inside the
caller's transaction, and other features react without the announcer importing them.

The announcer owns the `Hook` (e.g. `app.desk.hooks.MESSAGE_ADDED`) and calls
`publish`; a reacting feature names a `Subscription` in its `Feature` declaration and the
composition root (`app.features.wire`) connects it. Nothing subscribes by being imported.
Handlers run in order, in the same session and transaction: an exception in a handler
rolls the whole change back, as it should (the reaction is part of the change)."""

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

    def __repr__(self) -> str:
        return f"Hook({self.name!r})"

    @property
    def handlers(self) -> tuple[Handler[E], ...]:
        return tuple(self._handlers)

    def connect(self, handler: Handler[E]) -> None:
        """Adds a handler once (wiring twice, as tests and workers do, is harmless)."""
        if handler not in self._handlers:
            self._handlers.append(handler)

    def disconnect(self, handler: Handler[E]) -> None:
        if handler in self._handlers:
            self._handlers.remove(handler)

    async def publish(self, session: AsyncSession, payload: E) -> None:
        for handler in self._handlers:
            await handler(session, payload)


@dataclass(frozen=True)
class Subscription(Generic[E]):
    """`handler` reacts to every payload published on `hook`."""

    hook: Hook[E]
    handler: Handler[E]
