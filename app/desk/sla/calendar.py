"""Working time: business-hours calendars with a time zone, weekly hours and holidays.

Opening hours are wall-clock times in the calendar's zone; every computation converts each
opening interval to UTC first, so DST changes are counted as the hours that really pass
(a 03:00–19:00 day is 16 h, 15 h or 17 h long on the days the clocks move)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_DAYS = 3 * 366  # how far a computation may walk before giving up (a calendar with no hours)
DAY_CACHE = 4096  # local days whose UTC intervals a calendar keeps (about 11 years of days)
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Calendar:
    """`hours[weekday]` (0 = Monday) lists (open, close) wall-clock pairs; close
    `time(0)` means midnight at the end of the day."""

    zone: str
    hours: Mapping[int, Sequence[tuple[time, time]]]
    holidays: frozenset[date] = field(default_factory=frozenset)
    # Each local day's opening intervals in UTC, computed once per calendar: the zone
    # conversions are most of a computation's cost, and the desk's cached calendars
    # (app.desk.fast_submit) compute the same days for every submission.
    _days: dict[date, tuple[tuple[datetime, datetime], ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def always_open(cls) -> Calendar:
        return cls("UTC", {d: [(time(0), time(0))] for d in range(7)})

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    def intervals(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Opening intervals in UTC, in order, from the local day holding `start` on."""
        tz = self.tz
        day = start.astimezone(tz).date()
        for _ in range(MAX_DAYS):
            found = self._days.get(day)
            if found is None:
                found = self._day(day, tz)
                if len(self._days) >= DAY_CACHE:
                    self._days.clear()
                self._days[day] = found
            yield from found
            day += _ONE_DAY

    def _day(self, day: date, tz: ZoneInfo) -> tuple[tuple[datetime, datetime], ...]:
        if day in self.holidays:
            return ()
        found = []
        for opens, closes in self.hours.get(day.weekday(), ()):
            begin = _instant(day, opens, tz)
            end = _instant(day + _ONE_DAY if closes == time(0) else day, closes, tz)
            if end > begin:
                found.append((begin, end))
        return tuple(found)

    def working_time(self, start: datetime, end: datetime) -> timedelta:
        """Working time in [start, end)."""
        total = timedelta()
        if end <= start:
            return total
        for begin, finish in self.intervals(start):
            if begin >= end:
                break
            overlap = min(finish, end) - max(begin, start)
            if overlap > timedelta():
                total += overlap
        return total

    def add(self, start: datetime, amount: timedelta) -> datetime:
        """The instant when `amount` of working time has passed since `start`."""
        if amount <= timedelta():
            return start
        left = amount
        for begin, finish in self.intervals(start):
            if finish <= start:
                continue
            begin = max(begin, start)
            if begin + left <= finish:
                return begin + left
            left -= finish - begin
        raise ValueError(f"calendar {self.zone} has no working time within {MAX_DAYS} days")


def _instant(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """A wall-clock time as a UTC instant; a time inside a DST gap maps past the gap."""
    local = datetime.combine(day, wall, tzinfo=tz)
    instant = local.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        # Non-existent local time (clocks jumped forward): the interval starts after the gap.
        instant = datetime.combine(day, wall, tzinfo=tz).replace(fold=1).astimezone(UTC)
    return instant


def weekly(opens: time, closes: time, days: Sequence[int]) -> dict[int, list[tuple[time, time]]]:
    return {d: [(opens, closes)] for d in days}


CUSTOMER_RELATIONS_DEFAULT = Calendar(
    "Europe/Moscow", weekly(time(3), time(19), range(5))
)  # policy §1: Mon–Fri 03:00–19:00 Moscow time
TECHNICAL_DEFAULT = Calendar.always_open()
