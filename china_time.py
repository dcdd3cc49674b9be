"""China time (UTC+8 all year, no daylight saving): the clock every "today", validity date, date
filter and day of ours is read by, while timestamps are stored in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

CHINA = timezone(timedelta(hours=8))


def today() -> date:
    return datetime.now(CHINA).date()


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """The UTC instants bounding the China days ``first`` to ``last``, both included."""
    return (datetime.combine(first, time.min, CHINA).astimezone(UTC),
            datetime.combine(last + timedelta(days=1), time.min, CHINA).astimezone(UTC))


def to_minute(moment: datetime) -> str:
    """A moment as people here read it: China time, to the minute."""
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
