"""The policy's defaults (policy.md §4): what a line or a target uses until an admin
stores another, and the escalation table of seed 002."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from app.desk.models import Line
from app.desk.sla.calendar import CUSTOMER_RELATIONS_DEFAULT, TECHNICAL_DEFAULT, Calendar
from app.desk.sla.models import Category

DEFAULT_CALENDARS: dict[Line, Calendar] = {
    Line.customer_relations: CUSTOMER_RELATIONS_DEFAULT,
    Line.technical: TECHNICAL_DEFAULT,
}
ALWAYS_OPEN = Calendar.always_open()  # severity 1 runs on this, whatever the line

# "Working day" in the resolution targets: 8 working hours (seed 001's office day).
WORKING_DAY = timedelta(hours=8)


@dataclass(frozen=True, slots=True)
class Targets:
    first_response: timedelta
    assignment: timedelta
    resolution: timedelta


def default_targets(line: Line, severity: int, category: Category) -> Targets:
    """First response 8 working hours (product issue) or 24 (third party); an engineer
    within 1; resolution 1 working day to restore operation, 2 for a consultation
    (severity 4, a question), 5 for an incident outside the software (third party)."""
    del line  # the same on both lines until an admin says otherwise
    third_party = category is Category.third_party
    if third_party:
        resolution = 5 * WORKING_DAY
    elif severity == 4:
        resolution = 2 * WORKING_DAY
    else:
        resolution = WORKING_DAY
    return Targets(
        first_response=timedelta(hours=24 if third_party else 8),
        assignment=timedelta(hours=1),
        resolution=resolution,
    )


# Seed 002: elapsed time since the report (waiting on the customer excluded) → level.
# Level 1: head of customer service; level 2: general manager.
ESCALATION: dict[int, tuple[timedelta, timedelta]] = {
    1: (timedelta(hours=8), timedelta(hours=24)),
    2: (timedelta(days=3), timedelta(days=7)),
    3: (timedelta(days=10), timedelta(days=14)),
    4: (timedelta(days=45), timedelta(days=60)),
}
ESCALATED_TO = {1: "head of customer service", 2: "general manager"}


def escalation_level(severity: int, elapsed: timedelta) -> int:
    first, second = ESCALATION[severity]
    return 2 if elapsed >= second else 1 if elapsed >= first else 0
