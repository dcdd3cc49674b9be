"""Attempt throttles on both databases: concurrent attempts from two engines (two processes, as far
as the database can tell) queue on the counter, so no more get through than the rule allows."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from store.tables.base import utcnow
from store.throttle import Throttle, Throttled, ThrottleRule

RULE = ThrottleRule("test", 5, base_delay=timedelta(seconds=30), max_delay=timedelta(minutes=15),
                    window=timedelta(minutes=15))
BROAD = ThrottleRule("test_broad", 100, base_delay=timedelta(seconds=30), max_delay=timedelta(minutes=15),
                     window=timedelta(minutes=15))


async def test_thirty_concurrent_attempts_from_two_processes_get_five_through(db, second_db):
    throttles = [Throttle(db), Throttle(second_db)]

    async def attempt(n: int) -> bool:
        try:
            await throttles[n % 2].reserve([(RULE, "name|10.0.0.1"), (BROAD, "10.0.0.1")])
        except Throttled:
            return False
        return True

    through = await asyncio.gather(*(attempt(n) for n in range(30)))
    assert sum(through) == 5


async def test_a_refused_attempt_counts_nothing_and_a_success_settles(db):
    clock_now = [utcnow()]
    throttle = Throttle(db, clock=lambda: clock_now[0])
    for _ in range(5):
        await throttle.reserve([(RULE, "k"), (BROAD, "a")])
    with pytest.raises(Throttled) as waiting:
        await throttle.reserve([(RULE, "k"), (BROAD, "a")])
    assert waiting.value.retry_after == 30
    clock_now[0] += timedelta(seconds=30)
    reservation = await throttle.reserve([(RULE, "k"), (BROAD, "a")])
    await throttle.settle(reservation, succeeded=True, reset=("test",))
    assert await throttle.succeeded_recently(RULE, "k", timedelta(days=1))
    # the pair starts afresh; the broad key took back only the successful attempt (5 failures remain)
    for _ in range(5):
        await throttle.reserve([(RULE, "k")])
    assert not await throttle.succeeded_recently(RULE, "other", timedelta(days=1))


def test_delays_double_up_to_the_cap():
    assert [RULE.delay_after(n).total_seconds() for n in (1, 4, 5, 6, 9, 10, 100, 10**9)] == [
        0, 0, 30, 60, 480, 900, 900, 900]
