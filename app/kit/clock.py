"""Time comes from here, so that tests can travel in it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """The wall clock, always timezone-aware UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock(Clock):
    """A clock that moves only when told to (tests, simulations)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = (start or datetime.now(UTC)).astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment.astimezone(UTC)


def rfc3339(moment: datetime) -> str:
    """`2026-11-22T10:00:00Z`, microseconds kept only when present."""
    text = moment.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")
