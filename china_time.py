"""China time (UTC+8 all year, no daylight saving): the clock every "today", validity date, date
filter and day of ours is read by, while timestamps are stored in UTC."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, timezone

CHINA = timezone(timedelta(hours=8))

Clock = Callable[[], datetime]  # an aware "now"; services take one so tests can set the hour


def utc_now() -> datetime:
    return datetime.now(UTC)


def today(clock: Clock = utc_now) -> date:
    """The day in China now: at 23:30 UTC it is already tomorrow here (07:30)."""
    return clock().astimezone(CHINA).date()


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """The UTC instants bounding the China days ``first`` to ``last``, both included."""
    return (datetime.combine(first, time.min, CHINA).astimezone(UTC),
            datetime.combine(last + timedelta(days=1), time.min, CHINA).astimezone(UTC))


def to_minute(moment: datetime) -> str:
    """A moment as people here read it: China time, to the minute."""
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
