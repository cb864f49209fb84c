"""Export periods: `[from, to)` in UTC, given as dates or RFC 3339 timestamps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from app.kit.clock import rfc3339
from app.kit.errors import ValidationFailed
from app.kit.inputs import utc_instant


@dataclass(frozen=True, slots=True)
class Period:
    start: datetime
    end: datetime
    zone: tzinfo = UTC  # where dates were read (file names show local dates)

    @property
    def label(self) -> str:
        return f"{rfc3339(self.start)} to {rfc3339(self.end)}"

    def slug(self) -> str:
        """For file names: `2026-11-01_2026-12-01`."""

        def part(moment: datetime) -> str:
            local = moment.astimezone(self.zone)
            if local.time() == datetime.min.time():
                return local.date().isoformat()
            if moment.time() == datetime.min.time():
                return moment.date().isoformat()
            return moment.strftime("%Y-%m-%dT%H%M%SZ")

        return f"{part(self.start)}_{part(self.end)}"


def parse_moment(raw: str | None, field: str, zone: tzinfo = UTC) -> datetime:
    """`2026-11-01` (midnight in `zone`, UTC unless the books' zone is given) or
    `2026-11-01T10:00:00Z` / with an offset. A timestamp without an offset is read as UTC.
    Within `Instant`'s range (`utc_instant`), so no later arithmetic can overflow."""
    if raw is None or not raw.strip():
        raise ValidationFailed(f"`{field}` is required (a date or an RFC 3339 time).", field=field)
    text = raw.strip()
    try:
        if len(text) == 10:
            day = datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=zone)
            return utc_instant(day)
        moment = datetime.fromisoformat(text.replace("z", "Z"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return utc_instant(moment)
    except (ValueError, OverflowError):
        raise ValidationFailed(
            f"`{field}` must be a date (2026-11-01) or an RFC 3339 time "
            f"(2026-11-01T00:00:00Z), not {text[:40]!r}.",
            field=field,
        ) from None


def parse_period(
    raw_from: str | None, raw_to: str | None, *, max_days: int | None, zone: tzinfo = UTC
) -> Period:
    """Validated `[from, to)`; `max_days` None means no upper bound on the length. Dates
    are midnight in `zone` (the books' exports give the books' time zone)."""
    start = parse_moment(raw_from, "from", zone)
    end = parse_moment(raw_to, "to", zone)
    if end < start:
        raise ValidationFailed("`to` is before `from`; the period is [from, to).", field="to")
    if max_days is not None and end - start > timedelta(days=max_days):
        raise ValidationFailed(
            f"The period is longer than {max_days} days; export it in parts.",
            field="to",
            max_days=max_days,
        )
    return Period(start, end, zone)
