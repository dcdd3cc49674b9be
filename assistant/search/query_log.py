"""The search query log (``search_queries``): every search, personal data masked, for the hot list,
the suggestions and analytics — written off the request path.

A search only appends a small record to an in-memory queue; a background task writes what has
queued in one transaction (one multi-row insert) every ``flush_seconds`` or as soon as
``batch_size`` records wait. Masking happens in the writer too. The trade-off, chosen on purpose:
a record reaches the database up to ``flush_seconds`` (1 s by default) after its search, and
records still queued when the process is killed outright are lost; a clean stop writes them all
(``stop``), and so does ``flush`` (the tests use it). If the database refuses a batch the batch is
kept and retried on the next round; at most ``max_pending`` records wait (the oldest are dropped
and counted), so an unreachable database cannot grow memory without bound. The log is analytics,
not a record anyone relies on: losing a second of it on a crash is acceptable, adding a database
transaction to every search is not.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from logs import mask_personal_data
from store.database import Database
from store.tables.base import utcnow
from store.tables.search import search_queries

log = logging.getLogger(__name__)

HOT_CACHE_SECONDS = 30


@dataclass(frozen=True)
class LoggedQuery:
    at: datetime
    channel: str
    query: str  # as typed, not yet masked
    normalized: str
    result_count: int
    top_code: str | None
    confidence: float
    no_good_match: bool
    took_ms: float

    def row(self) -> dict[str, Any]:
        return {"at": self.at, "channel": self.channel[:32], "query": mask_personal_data(self.query)[:500],
                "normalized": mask_personal_data(self.normalized)[:200], "result_count": self.result_count,
                "top_code": self.top_code, "confidence": self.confidence, "no_good_match": self.no_good_match,
                "took_ms": self.took_ms}


class QueryLog:
    def __init__(self, db: Database, *, flush_seconds: float = 1.0, batch_size: int = 200,
                 max_pending: int = 10_000) -> None:
        self.db = db
        self.flush_seconds = flush_seconds
        self.batch_size = batch_size
        self.dropped = 0  # records given up because too many were waiting
        self._pending: deque[LoggedQuery] = deque(maxlen=max_pending)
        self._loop: asyncio.AbstractEventLoop | None = None  # the writer's, its event and its lock
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._write_lock = asyncio.Lock()
        self._hot_cache: tuple[float, list[dict[str, Any]]] = (0.0, [])

    # --- writing ---------------------------------------------------------------------------
    def record(self, entry: LoggedQuery) -> None:
        """Queue one search for the log; returns at once (the writer starts on first use)."""
        if len(self._pending) == self._pending.maxlen:
            self.dropped += 1
        self._pending.append(entry)
        self._bind_to_running_loop()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_forever())
        if len(self._pending) >= self.batch_size:
            self._wake.set()

    def _bind_to_running_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a first use, or an app restarted on another loop (the tests)
            self._loop, self._writer = loop, None
            self._wake, self._write_lock = asyncio.Event(), asyncio.Lock()

    async def _write_forever(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), self.flush_seconds)
            except TimeoutError:
                pass
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        """Write everything queued so far (kept for the next round if the database refuses it)."""
        self._bind_to_running_loop()
        async with self._write_lock:
            while self._pending:
                batch = [self._pending.popleft() for _ in range(min(self.batch_size, len(self._pending)))]
                try:
                    async with self.db.transaction() as conn:
                        await conn.execute(search_queries.insert(), [entry.row() for entry in batch])
                except Exception:
                    log.exception("could not write %d search log records; will retry", len(batch))
                    self._pending.extendleft(reversed(batch))
                    return
                except BaseException:  # cancelled mid-write: the records wait for the final flush
                    self._pending.extendleft(reversed(batch))
                    raise

    async def stop(self) -> None:
        """Stop the writer after writing what is queued."""
        if self._writer is not None and self._loop is asyncio.get_running_loop():
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
            self._writer = None
        await self.flush()

    # --- reading ---------------------------------------------------------------------------
    async def hot(self, limit: int = 10, days: int = 7) -> list[dict[str, Any]]:
        """The most frequent queries of the last ``days`` that found something (cached for 30 s)."""
        cached_at, cached = self._hot_cache
        if time.monotonic() - cached_at < HOT_CACHE_SECONDS and len(cached) >= limit:
            return cached[:limit]
        since = utcnow() - timedelta(days=days)
        async with self.db.read() as conn:
            rows = await conn.execute(
                sa.select(search_queries.c.normalized, sa.func.count().label("n"))
                .where(search_queries.c.at >= since, search_queries.c.no_good_match.is_(False))
                .group_by(search_queries.c.normalized).order_by(sa.desc("n"), search_queries.c.normalized)
                .limit(max(limit, 50)))
            hot = [{"query": q, "count": n} for q, n in rows]
        self._hot_cache = (time.monotonic(), hot)
        return hot[:limit]

    def forget_hot(self) -> None:
        """Drop the cached hot list (the next ``hot`` reads the log again)."""
        self._hot_cache = (0.0, [])
