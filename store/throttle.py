"""Attempt throttles shared by every worker and node: staff sign-in and real-name binding count
their attempts here, in the database.

An attempt is *reserved* before the expensive or revealing check runs (a password hash, a
base-library lookup) and counted as a failure from that moment: the counters of all its keys are
read under a row lock (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's write transactions are
``BEGIN IMMEDIATE``, so they queue) and moved on in the same transaction. Thirty guesses sent at
the same moment therefore queue on the counter, and only the first few get to the check; the
others are refused without it. A success settles the reservation: the key's failures go back to
zero (or by one for the broad keys, see ``settle``).

After ``free`` failures a key waits ``base_delay × 2^(failures − free)`` before its next attempt,
at most ``max_delay``: an attacker is slowed exponentially, a person who mistyped waits seconds,
and no key is ever locked for longer than ``max_delay``. Failures are forgotten ``window`` after
the key was last free to try again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from store.database import Database
from store.tables.base import utcnow
from store.tables.throttles import attempt_counters


@dataclass(frozen=True)
class ThrottleRule:
    """How one kind of key is throttled. ``scope`` names the kind (e.g. ``staff_pair``)."""

    scope: str
    free: int  # failures allowed before any delay
    base_delay: timedelta
    max_delay: timedelta
    window: timedelta  # failures are forgotten this long after the key was last free to try

    def delay_after(self, failures: int) -> timedelta:
        if failures < self.free:
            return timedelta(0)
        # capped before exponentiation: a huge failure count must not overflow
        doubling = min(failures - self.free, 30)
        return min(self.base_delay * (2 ** doubling), self.max_delay)


class Throttled(Exception):
    """Refused before the check: try again in ``retry_after`` (seconds, rounded up)."""

    def __init__(self, scope: str, retry_after: int) -> None:
        super().__init__(f"{scope}: retry after {retry_after} s")
        self.scope, self.retry_after = scope, retry_after


@dataclass(frozen=True)
class Reservation:
    keys: tuple[tuple[ThrottleRule, str], ...]


class Throttle:
    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock

    async def reserve(self, keys: Sequence[tuple[ThrottleRule, str]]) -> Reservation:
        """Count one attempt against every key, or raise ``Throttled`` (counting nothing) if any
        key must still wait."""
        keys = [(rule, key[:200]) for rule, key in keys]
        async with self.db.transaction() as conn:
            locked = []
            for rule, key in keys:
                await conn.execute(self._insert_missing(rule.scope, key, self.clock()))
                locked.append((rule, key, (await conn.execute(
                    sa.select(attempt_counters).where(attempt_counters.c.scope == rule.scope,
                                                      attempt_counters.c.key == key)
                    .with_for_update())).one()))
            # the time is read only once the rows are ours: a request that waited for the lock must
            # not judge the counter by a clock read before the holder wrote it (it would see a
            # next_at "in the future" that is only the holder's later now)
            now = self.clock()
            counted = []
            for rule, key, row in locked:
                if row.next_at > now:
                    raise Throttled(rule.scope, _seconds(row.next_at - now))
                counted.append((rule, key, (0 if now > row.next_at + rule.window else row.failures) + 1))
            for rule, key, failures in counted:
                await conn.execute(attempt_counters.update().where(
                    attempt_counters.c.scope == rule.scope, attempt_counters.c.key == key)
                    .values(failures=failures, next_at=now + rule.delay_after(failures)))
        return Reservation(tuple(keys))

    async def settle(self, reservation: Reservation, *, succeeded: bool, reset: Sequence[str] = ()) -> None:
        """After the check. A failure stays counted. A success takes its own attempt back from every
        key, and clears the keys whose scope is in ``reset`` (the one person's own key), remembering
        when it last succeeded (``succeeded_recently``)."""
        if not succeeded:
            return
        now = self.clock()
        async with self.db.transaction() as conn:
            for rule, key in reservation.keys:
                where = (attempt_counters.c.scope == rule.scope) & (attempt_counters.c.key == key)
                if rule.scope in reset:
                    await conn.execute(attempt_counters.update().where(where).values(
                        failures=0, next_at=now, last_success_at=now))
                    continue
                row = (await conn.execute(sa.select(attempt_counters).where(where).with_for_update())).one()
                failures = max(row.failures - 1, 0)
                await conn.execute(attempt_counters.update().where(where).values(
                    failures=failures, next_at=min(row.next_at, now + rule.delay_after(failures))))

    async def succeeded_recently(self, rule: ThrottleRule, key: str, within: timedelta) -> bool:
        async with self.db.read() as conn:
            at = (await conn.execute(sa.select(attempt_counters.c.last_success_at).where(
                attempt_counters.c.scope == rule.scope, attempt_counters.c.key == key[:200]))).scalar()
        return at is not None and at > self.clock() - within

    def _insert_missing(self, scope: str, key: str, now: datetime) -> sa.Executable:
        insert = sqlite_insert if self.db.is_sqlite else pg_insert
        return insert(attempt_counters).values(scope=scope, key=key, failures=0, next_at=now) \
            .on_conflict_do_nothing(index_elements=["scope", "key"])


def _seconds(delta: timedelta) -> int:
    return max(1, int(delta.total_seconds() + 0.999))
