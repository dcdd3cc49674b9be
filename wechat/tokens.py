"""The access token (access_token), shared by every worker of every process.

The token lives in the database. One worker at a time holds the refresh lease and fetches a new
token through the stable-token endpoint shortly before the old one expires; the others wait for
its result instead of fetching their own. Fetches are counted per China-time day against a budget
far below WeChat's limit of 2,000. The token itself is never logged.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from china_time import CHINA
from store.database import Database
from store.tables.base import utcnow
from store.tables.wechat import wechat_tokens
from wechat.api import StableTokenSource

log = logging.getLogger(__name__)


class TokenBudgetExhausted(Exception):
    """Today's access-token fetches are used up; WeChat calls wait for tomorrow's budget."""


class AccessTokenManager:
    def __init__(self, db: Database, api: StableTokenSource, *, daily_budget: int = 100,
                 refresh_margin_seconds: float = 300.0, lease_seconds: float = 30.0,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.api = api
        self.appid = api.appid
        self.daily_budget = daily_budget
        self.refresh_margin = timedelta(seconds=refresh_margin_seconds)
        self.lease = timedelta(seconds=lease_seconds)
        self.clock = clock
        self.owner = f"tokens-{uuid.uuid4().hex[:12]}"
        self._cached: tuple[str, datetime] | None = None  # saves a database read per call
        self._refreshing = asyncio.Lock()  # one refresh at a time in this process; the lease does the rest

    async def get(self) -> str:
        """A token valid for at least the refresh margin; refreshed first if it is not."""
        now = self.clock()
        if self._cached and self._cached[1] - now > self.refresh_margin:
            return self._cached[0]
        return await self._refresh(force=False, failed=None)

    async def invalidate(self, failed_token: str) -> str:
        """WeChat said ``failed_token`` is invalid: refresh once (unless another worker already
        has) and return the new token."""
        self._cached = None
        return await self._refresh(force=True, failed=failed_token)

    async def _refresh(self, *, force: bool, failed: str | None) -> str:
        async with self._refreshing:
            return await self._refresh_once(force=force, failed=failed)

    async def _refresh_once(self, *, force: bool, failed: str | None) -> str:
        deadline = self.clock() + self.lease * 2
        while True:
            action = await self._take_lease_or_token(failed)
            if isinstance(action, str):
                return action
            if action:
                return await self._fetch(force=force)
            if self.clock() > deadline:
                raise TimeoutError("waited too long for another worker to refresh the access token")
            await asyncio.sleep(0.1)  # another worker is fetching; its token will be in the row

    async def _take_lease_or_token(self, failed: str | None) -> str | bool:
        """A usable token from the row, True if we now hold the refresh lease, False if another
        worker holds it."""
        now = self.clock()
        today = now.astimezone(CHINA).date().isoformat()
        async with self.db.transaction() as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            await conn.execute(dialect.insert(wechat_tokens).values(
                appid=self.appid, budget_day=today, fetches_today=0).on_conflict_do_nothing(index_elements=["appid"]))
            row = (await conn.execute(sa.select(wechat_tokens).where(wechat_tokens.c.appid == self.appid)
                                      .with_for_update())).one()
            if row.access_token and row.access_token != failed and row.expires_at - now > self.refresh_margin:
                self._cached = (row.access_token, row.expires_at)
                return str(row.access_token)
            if row.lease_owner and row.lease_until > now:
                return False
            fetches = row.fetches_today if row.budget_day == today else 0
            if fetches >= self.daily_budget:
                log.error("access-token fetch budget of %d for %s is used up", self.daily_budget, today)
                raise TokenBudgetExhausted(f"{fetches} access-token fetches today; budget {self.daily_budget}")
            await conn.execute(wechat_tokens.update().where(wechat_tokens.c.appid == self.appid).values(
                lease_owner=self.owner, lease_until=now + self.lease, budget_day=today, fetches_today=fetches + 1))
        return True

    async def _fetch(self, *, force: bool) -> str:
        try:
            token, expires_in = await self.api.fetch_stable_token(force_refresh=force)
        except BaseException:
            async with self.db.transaction() as conn:
                await conn.execute(wechat_tokens.update().where(
                    wechat_tokens.c.appid == self.appid, wechat_tokens.c.lease_owner == self.owner,
                ).values(lease_owner=None, lease_until=None))
            raise
        expires_at = self.clock() + timedelta(seconds=expires_in)
        async with self.db.transaction() as conn:
            await conn.execute(wechat_tokens.update().where(wechat_tokens.c.appid == self.appid).values(
                access_token=token, expires_at=expires_at, lease_owner=None, lease_until=None))
        self._cached = (token, expires_at)
        log.info("fetched a new access token (expires in %d s%s)", expires_in, ", forced" if force else "")
        return token

    async def fetches_today(self) -> int:
        today = self.clock().astimezone(CHINA).date().isoformat()
        async with self.db.read() as conn:
            row = (await conn.execute(sa.select(wechat_tokens.c.budget_day, wechat_tokens.c.fetches_today)
                                      .where(wechat_tokens.c.appid == self.appid))).first()
        return row.fetches_today if row and row.budget_day == today else 0
