"""Working-time arithmetic: nights, weekends, holidays, time zones and DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from app.desk.sla.calendar import (
    CUSTOMER_RELATIONS_DEFAULT,
    TECHNICAL_DEFAULT,
    Calendar,
    weekly,
)

MSK = CUSTOMER_RELATIONS_DEFAULT  # Mon–Fri 03:00–19:00 Europe/Moscow (UTC+3, no DST)
BERLIN = Calendar("Europe/Berlin", weekly(time(9), time(17), range(5)))
BERLIN_NIGHTS = Calendar("Europe/Berlin", {d: [(time(0), time(6))] for d in range(7)})
HOLIDAY = Calendar(
    "Europe/Moscow", weekly(time(3), time(19), range(5)), frozenset({date(2026, 11, 4)})
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_within_one_working_day() -> None:
    # Monday 2026-11-02 10:00 MSK = 07:00 UTC; 8 working hours later is 18:00 MSK.
    assert MSK.add(utc(2026, 11, 2, 7), timedelta(hours=8)) == utc(2026, 11, 2, 15)


def test_across_a_night() -> None:
    # Monday 17:00 MSK + 8 h: 2 h on Monday, 6 h from Tuesday 03:00 → Tuesday 09:00 MSK.
    assert MSK.add(utc(2026, 11, 2, 14), timedelta(hours=8)) == utc(2026, 11, 3, 6)


def test_across_a_weekend() -> None:
    # Friday 18:00 MSK + 3 h: 1 h on Friday, then Monday 03:00 + 2 h = Monday 05:00 MSK.
    assert MSK.add(utc(2026, 11, 6, 15), timedelta(hours=3)) == utc(2026, 11, 9, 2)
    assert MSK.working_time(utc(2026, 11, 6, 15), utc(2026, 11, 9, 2)) == timedelta(hours=3)


def test_started_outside_hours_waits_for_opening() -> None:
    # Saturday noon: the clock starts Monday 03:00 MSK (00:00 UTC).
    assert MSK.add(utc(2026, 11, 7, 9), timedelta(hours=1)) == utc(2026, 11, 9, 1)
    assert MSK.working_time(utc(2026, 11, 7, 9), utc(2026, 11, 9, 0)) == timedelta()


def test_holiday_is_skipped() -> None:
    # Tuesday 18:00 MSK + 2 h: 1 h Tuesday, Wednesday 4 Nov is a holiday, Thursday 03:00 + 1 h.
    assert HOLIDAY.add(utc(2026, 11, 3, 15), timedelta(hours=2)) == utc(2026, 11, 5, 1)


def test_time_zone_offset_is_applied() -> None:
    # Berlin in winter is UTC+1: 09:00–17:00 local is 08:00–16:00 UTC.
    assert BERLIN.working_time(utc(2026, 11, 2, 0), utc(2026, 11, 3, 0)) == timedelta(hours=8)
    assert BERLIN.add(utc(2026, 11, 2, 0), timedelta(hours=1)) == utc(2026, 11, 2, 9)


def test_dst_change_counts_real_hours() -> None:
    # 2026-03-29: Berlin jumps 02:00 → 03:00, so the 00:00–06:00 night lasts 5 real hours;
    # 2026-10-25: 03:00 → 02:00, so it lasts 7.
    spring = BERLIN_NIGHTS.working_time(utc(2026, 3, 28, 22), utc(2026, 3, 29, 12))
    autumn = BERLIN_NIGHTS.working_time(utc(2026, 10, 24, 21), utc(2026, 10, 25, 12))
    assert spring == timedelta(hours=5)
    assert autumn == timedelta(hours=7)


def test_always_open() -> None:
    start = utc(2026, 11, 7, 23, 30)
    assert TECHNICAL_DEFAULT.add(start, timedelta(hours=8)) == start + timedelta(hours=8)


instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
durations = st.integers(min_value=1, max_value=60 * 24 * 20).map(lambda m: timedelta(minutes=m))


@settings(max_examples=200, deadline=None)
@given(
    calendar=st.sampled_from([MSK, BERLIN, BERLIN_NIGHTS, HOLIDAY, TECHNICAL_DEFAULT]),
    start=instants,
    amount=durations,
)
def test_adding_then_measuring_gives_the_same_amount(
    calendar: Calendar, start: datetime, amount: timedelta
) -> None:
    due = calendar.add(start, amount)
    assert due > start
    assert calendar.working_time(start, due) == amount
