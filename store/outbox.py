"""The durable outbox: every outbound side effect is a row, written in the same transaction
as the state change that causes it, and delivered at least once.

- ``enqueue`` runs on the caller's connection, so the job exists iff the change committed;
  the idempotency key is unique, so enqueueing the same effect twice stores one job.
- ``claim`` takes due jobs under a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite
  serialises writers), so two workers never hold the same job at once.
- A job whose worker dies mid-lease becomes claimable again when the lease runs out: nothing
  is lost. The receiving side deduplicates by the idempotency key, which every delivery carries.
- Failures are retried with exponential backoff; after ``max_attempts`` the job is dead-lettered
  and stays visible to staff, who can retry or discard it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from store.audit import AuditLog
from store.database import Database
from store.tables.base import utcnow
from store.tables.outbox import outbox_jobs

log = logging.getLogger(__name__)

PENDING, DONE, DEAD, DISCARDED = "pending", "done", "dead", "discarded"


@dataclass(frozen=True)
class OutboxJob:
    id: int
    kind: str
    payload: dict[str, Any]
    idempotency_key: str
    attempts: int
    max_attempts: int


Handler = Callable[[OutboxJob], Awaitable[None]]


class RetryLater(Exception):
    """Raised by a handler when the remote system says when to come back (a rate limit)."""

    def __init__(self, reason: str, seconds: float) -> None:
        super().__init__(reason)
        self.seconds = seconds


class PermanentFailure(Exception):
    """Raised by a handler when retrying cannot help (the remote system refused the job for
    good); the job is dead-lettered at once, visible to staff."""


class Outbox:
    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        *,
        max_attempts: int = 8,
        backoff_base_seconds: float = 5.0,
        backoff_max_seconds: float = 3600.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.audit = audit
        self.max_attempts = max_attempts
        self.backoff_base_seconds = backoff_base_seconds
        self.backoff_max_seconds = backoff_max_seconds
        self.clock = clock

    async def enqueue(
        self,
        conn: AsyncConnection,
        kind: str,
        payload: dict[str, Any],
        idempotency_key: str,
        *,
        max_attempts: int | None = None,
        delay_seconds: float = 0.0,
    ) -> bool:
        """Add a job in the caller's transaction. Returns False if the key was already there."""
        now = self.clock()
        values = dict(
            kind=kind,
            payload=payload,
            idempotency_key=idempotency_key,
            status=PENDING,
            attempts=0,
            max_attempts=max_attempts or self.max_attempts,
            next_attempt_at=now + timedelta(seconds=delay_seconds),
            created_at=now,
            updated_at=now,
        )
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(outbox_jobs).values(**values).on_conflict_do_nothing(
            index_elements=["idempotency_key"]
        )
        result = await conn.execute(stmt)
        return result.rowcount == 1

    async def claim(
        self, worker_id: str, *, limit: int, lease_seconds: float, kinds: Iterable[str] | None = None
    ) -> list[OutboxJob]:
        """Lease up to ``limit`` due jobs (only of ``kinds``, when given) to ``worker_id``."""
        now = self.clock()
        async with self.db.transaction() as conn:
            # a worker that died on its last allowed attempt leaves the job leased: dead-letter it
            await conn.execute(
                outbox_jobs.update()
                .where(
                    outbox_jobs.c.status == PENDING,
                    outbox_jobs.c.attempts >= outbox_jobs.c.max_attempts,
                    outbox_jobs.c.lease_until < now,
                )
                .values(status=DEAD, lease_owner=None, lease_until=None, updated_at=now,
                        last_error="lease expired on the last attempt")
            )
            due = (
                sa.select(outbox_jobs.c.id)
                .where(
                    outbox_jobs.c.status == PENDING,
                    outbox_jobs.c.next_attempt_at <= now,
                    outbox_jobs.c.attempts < outbox_jobs.c.max_attempts,
                    sa.or_(outbox_jobs.c.lease_until.is_(None), outbox_jobs.c.lease_until < now),
                    *([outbox_jobs.c.kind.in_(list(kinds))] if kinds is not None else []),
                )
                .order_by(outbox_jobs.c.next_attempt_at, outbox_jobs.c.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            result = await conn.execute(
                outbox_jobs.update()
                .where(outbox_jobs.c.id.in_(due.scalar_subquery()))
                .values(
                    lease_owner=worker_id,
                    lease_until=now + timedelta(seconds=lease_seconds),
                    attempts=outbox_jobs.c.attempts + 1,
                    updated_at=now,
                )
                .returning(
                    outbox_jobs.c.id, outbox_jobs.c.kind, outbox_jobs.c.payload,
                    outbox_jobs.c.idempotency_key, outbox_jobs.c.attempts, outbox_jobs.c.max_attempts,
                )
            )
            jobs = [OutboxJob(**row._mapping) for row in result]
        return sorted(jobs, key=lambda job: job.id)

    async def complete(self, job: OutboxJob, worker_id: str) -> bool:
        """Mark delivered. False if our lease was lost (another worker owns the job now)."""
        now = self.clock()
        async with self.db.transaction() as conn:
            result = await conn.execute(
                outbox_jobs.update()
                .where(outbox_jobs.c.id == job.id, outbox_jobs.c.lease_owner == worker_id,
                       outbox_jobs.c.status == PENDING)
                .values(status=DONE, done_at=now, updated_at=now, lease_owner=None, lease_until=None,
                        last_error=None)
            )
        return result.rowcount == 1

    def backoff_seconds(self, attempts: int) -> float:
        delay = min(self.backoff_base_seconds * 2 ** max(attempts - 1, 0), self.backoff_max_seconds)
        return delay * random.uniform(0.9, 1.1)  # spread retries so they do not arrive in a herd

    async def fail(self, job: OutboxJob, worker_id: str, error: str, *, retry_after: float | None = None,
                   permanent: bool = False) -> str:
        """Record a failed attempt: schedule a retry (after ``retry_after`` seconds when the remote
        system said so), or dead-letter after the last attempt or a ``permanent`` failure."""
        now = self.clock()
        dead = permanent or job.attempts >= job.max_attempts
        values: dict[str, Any] = dict(lease_owner=None, lease_until=None, updated_at=now, last_error=error[:2000])
        if dead:
            values["status"] = DEAD
        else:
            delay = self.backoff_seconds(job.attempts) if retry_after is None else retry_after
            values["next_attempt_at"] = now + timedelta(seconds=delay)
        async with self.db.transaction() as conn:
            await conn.execute(
                outbox_jobs.update()
                .where(outbox_jobs.c.id == job.id, outbox_jobs.c.lease_owner == worker_id,
                       outbox_jobs.c.status == PENDING)
                .values(**values)
            )
        return DEAD if dead else "retry"

    async def hasten(self, conn: AsyncConnection, idempotency_key: str) -> None:
        """Make a pending job due now (in the caller's transaction): what it waited for is ready."""
        await conn.execute(outbox_jobs.update().where(
            outbox_jobs.c.idempotency_key == idempotency_key, outbox_jobs.c.status == PENDING,
        ).values(next_attempt_at=self.clock(), updated_at=self.clock()))

    async def dead_letters(self, limit: int = 100) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            rows = await conn.execute(
                sa.select(outbox_jobs).where(outbox_jobs.c.status == DEAD)
                .order_by(outbox_jobs.c.updated_at.desc()).limit(limit)
            )
            return [dict(row._mapping) for row in rows]

    async def retry_dead(self, job_id: int, actor: str) -> bool:
        """Staff action: give a dead job a fresh set of attempts."""
        return await self._resolve_dead(job_id, actor, "outbox.retry",
                                        dict(status=PENDING, attempts=0, next_attempt_at=self.clock()))

    async def discard_dead(self, job_id: int, actor: str) -> bool:
        return await self._resolve_dead(job_id, actor, "outbox.discard", dict(status=DISCARDED))

    async def _resolve_dead(self, job_id: int, actor: str, action: str, values: dict[str, Any]) -> bool:
        async with self.db.transaction() as conn:
            result = await conn.execute(
                outbox_jobs.update()
                .where(outbox_jobs.c.id == job_id, outbox_jobs.c.status == DEAD)
                .values(updated_at=self.clock(), **values)
            )
            if result.rowcount != 1:
                return False
            await self.audit.record(conn, actor=actor, action=action, target_type="outbox_job",
                                    target_id=str(job_id), before={"status": DEAD},
                                    after={"status": values["status"]})
        return True

    async def counts(self) -> dict[str, int]:
        async with self.db.read() as conn:
            rows = await conn.execute(
                sa.select(outbox_jobs.c.status, sa.func.count()).group_by(outbox_jobs.c.status)
            )
            return {status: count for status, count in rows}


class OutboxWorker:
    """Claims due jobs and hands each to the handler registered for its kind.

    Runs inside every server process; leases keep the processes from delivering a job twice.
    """

    def __init__(
        self,
        outbox: Outbox,
        handlers: Mapping[str, Handler],
        *,
        worker_id: str | None = None,
        poll_seconds: float = 1.0,
        lease_seconds: float = 60.0,
        batch_size: int = 20,
    ) -> None:
        self.outbox = outbox
        self.handlers = dict(handlers)
        self.worker_id = worker_id or f"worker-{uuid.uuid4().hex[:12]}"
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds
        self.batch_size = batch_size
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()

    async def run_once(self) -> int:
        """Claim and process one batch; returns how many jobs were claimed."""
        jobs = await self.outbox.claim(self.worker_id, limit=self.batch_size, lease_seconds=self.lease_seconds,
                                       kinds=self.handlers)
        await asyncio.gather(*(self._process(job) for job in jobs))
        return len(jobs)

    async def _process(self, job: OutboxJob) -> None:
        handler = self.handlers[job.kind]  # claim() only takes kinds we handle
        try:
            # finish well inside the lease, or another worker may take the job over
            await asyncio.wait_for(handler(job), timeout=self.lease_seconds * 0.8)
        except Exception as exc:  # any failure of a remote system is retried, never lost
            error = f"{type(exc).__name__}: {exc}"
            outcome = await self.outbox.fail(
                job, self.worker_id, error, retry_after=exc.seconds if isinstance(exc, RetryLater) else None,
                permanent=isinstance(exc, PermanentFailure))
            log.warning("outbox job %s (%s) attempt %d failed (%s): %s", job.id, job.kind, job.attempts, outcome, error)
        else:
            await self.outbox.complete(job, self.worker_id)

    async def run_forever(self) -> None:
        while not self._stopping.is_set():
            try:
                claimed = await self.run_once()
            except Exception:
                log.exception("outbox worker %s: claim failed; retrying", self.worker_id)
                claimed = 0
            if claimed < self.batch_size and not self._wake.is_set():
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
                except TimeoutError:
                    pass
            self._wake.clear()

    def wake(self) -> None:
        """Look for due jobs now rather than at the next poll (a job of ours just became due)."""
        self._wake.set()

    def start(self) -> None:
        if not self.handlers:
            return  # nothing this process could deliver; leave the jobs to one that can
        self._task = asyncio.get_running_loop().create_task(self.run_forever(), name=self.worker_id)

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
