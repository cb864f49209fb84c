"""Time comes from here, so that tests can travel in it: no other code reads the wall
clock (tests/test_wall_clock.py checks). A request finds its clock at `app.state.clock`, a
job gets one, and a process (`serve`, every command) builds it with `process_clock`."""

from __future__ import annotations

import time
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


class ShiftedClock(Clock):
    """The wall clock's pace from a chosen moment: `start` plus the (monotonic) time since
    the clock was made. For a process a test starts (a command, a server) that must live
    at the test's moment while time still passes in it."""

    def __init__(self, start: datetime) -> None:
        self._start = start.astimezone(UTC)
        self._origin = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._origin)


def process_clock(start: datetime | None = None) -> Clock:
    """The clock of a process: the wall clock, or, given `start` (`CREDITDESK_CLOCK_START`,
    which only `CREDITDESK_ENV=test` accepts), a clock running from that moment. The one
    place where the service builds its clock."""
    return ShiftedClock(start) if start is not None else Clock()


def rfc3339(moment: datetime) -> str:
    """`2026-11-22T10:00:00Z`, microseconds kept only when present."""
    text = moment.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")
