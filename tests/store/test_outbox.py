"""The durable outbox against real databases, delivering over real HTTP to a receiver that,
like any remote system we hand work to, applies each idempotency key once."""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa

from store.audit import AuditLog
from store.database import Database
from store.outbox import Outbox, OutboxJob, OutboxWorker
from store.tables.outbox import outbox_jobs
from tests.local_http import LocalHttpServer


class Receiver(LocalHttpServer):
    """A real HTTP server on loopback that counts delivery attempts per idempotency key."""

    def __init__(self) -> None:
        self.attempts: Counter[str] = Counter()
        self.applied: dict[str, dict] = {}
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"{self.base_url}/deliver"

    def respond(self, method: str, path: str, headers, raw: bytes) -> tuple[int, None]:  # type: ignore[no-untyped-def]
        key = headers["Idempotency-Key"]
        with self.lock:
            self.attempts[key] += 1
            self.applied.setdefault(key, json.loads(raw))
        return 200, None


def http_delivery(client: httpx.AsyncClient, url: str):
    async def deliver(job: OutboxJob) -> None:
        response = await client.post(url, json=job.payload, headers={"Idempotency-Key": job.idempotency_key})
        response.raise_for_status()
    return deliver


async def enqueue_many(db: Database, outbox: Outbox, count: int) -> None:
    async with db.transaction() as conn:
        for n in range(count):
            await outbox.enqueue(conn, "approval.handoff", {"application": n}, f"app-{n}")


async def job_rows(db: Database) -> list:
    async with db.read() as conn:
        return list(await conn.execute(sa.select(outbox_jobs).order_by(outbox_jobs.c.id)))


async def drain(*workers: OutboxWorker, until, timeout: float = 120.0) -> None:
    async def loop() -> None:
        while not await until():
            claimed = await asyncio.gather(*(w.run_once() for w in workers))
            if not any(claimed):
                await asyncio.sleep(0.05)
    await asyncio.wait_for(loop(), timeout)


async def test_two_workers_deliver_1000_jobs_each_exactly_once(db, second_db, audit):
    outbox_a, outbox_b = Outbox(db, audit), Outbox(second_db, AuditLog(second_db))
    await enqueue_many(db, outbox_a, 1000)
    delivered: Counter[str] = Counter()
    with Receiver() as receiver:
        async with httpx.AsyncClient() as client:
            deliver = http_delivery(client, receiver.url)

            def counting(worker_name: str):
                async def handler(job: OutboxJob) -> None:
                    await deliver(job)
                    delivered[worker_name] += 1
                return handler

            workers = [
                OutboxWorker(outbox_a, {"approval.handoff": counting("a")}, worker_id="a", lease_seconds=60, batch_size=25),
                OutboxWorker(outbox_b, {"approval.handoff": counting("b")}, worker_id="b", lease_seconds=60, batch_size=25),
            ]

            async def all_done() -> bool:
                return (await outbox_a.counts()).get("done", 0) == 1000

            await drain(*workers, until=all_done)

    assert len(receiver.applied) == 1000
    assert set(receiver.attempts.values()) == {1}, "a job was delivered twice"
    assert delivered["a"] > 0 and delivered["b"] > 0, "both workers should have taken part"
    assert delivered["a"] + delivered["b"] == 1000
    assert {row.attempts for row in await job_rows(db)} == {1}


async def test_a_crash_mid_lease_loses_nothing_and_the_receiver_applies_nothing_twice(db, second_db, audit):
    outbox_a, outbox_b = Outbox(db, audit), Outbox(second_db, AuditLog(second_db))
    await enqueue_many(db, outbox_a, 1000)
    with Receiver() as receiver:
        async with httpx.AsyncClient() as client:
            deliver = http_delivery(client, receiver.url)
            # worker "a" leases 50 jobs, delivers 25 of them, and dies before recording anything
            crashed = await outbox_a.claim("a", limit=50, lease_seconds=1.0)
            for job in crashed[:25]:
                await deliver(job)
            survivor = OutboxWorker(outbox_b, {"approval.handoff": deliver}, worker_id="b",
                                    lease_seconds=60, batch_size=50)

            async def all_done() -> bool:
                return (await outbox_b.counts()).get("done", 0) == 1000

            await drain(survivor, until=all_done)

    crashed_keys = {job.idempotency_key for job in crashed}
    assert len(receiver.applied) == 1000, "a job was lost"
    assert {k for k, n in receiver.attempts.items() if n == 2} == {job.idempotency_key for job in crashed[:25]}
    assert max(receiver.attempts.values()) == 2
    rows = {row.idempotency_key: row for row in await job_rows(db)}
    assert all(rows[key].attempts == 2 for key in crashed_keys)
    assert all(row.status == "done" for row in rows.values())


async def test_enqueue_belongs_to_the_callers_transaction_and_keys_are_unique(db, audit):
    outbox = Outbox(db, audit)
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await outbox.enqueue(conn, "push", {"n": 1}, "k-rolled-back")
            raise RuntimeError("the state change failed")
    async with db.transaction() as conn:
        assert await outbox.enqueue(conn, "push", {"n": 1}, "k-1") is True
        assert await outbox.enqueue(conn, "push", {"n": 2}, "k-1") is False
    rows = await job_rows(db)
    assert [(r.idempotency_key, r.payload) for r in rows] == [("k-1", {"n": 1})]


async def test_a_down_receiver_is_retried_with_backoff_then_dead_lettered(db, audit):
    outbox = Outbox(db, audit, max_attempts=3, backoff_base_seconds=0.05, backoff_max_seconds=0.2)
    async with db.transaction() as conn:
        await outbox.enqueue(conn, "push", {"n": 1}, "down-1")
    async with httpx.AsyncClient(timeout=2) as client:
        # nothing listens on this port: connection refused, like a remote system that is down
        worker = OutboxWorker(outbox, {"push": http_delivery(client, "http://127.0.0.1:9/deliver")},
                              worker_id="w", lease_seconds=10)
        assert await worker.run_once() == 1
        [row] = await job_rows(db)
        assert (row.status, row.attempts, row.lease_owner) == ("pending", 1, None)
        assert "ConnectError" in row.last_error
        assert row.next_attempt_at > row.updated_at  # not due again straight away
        assert await worker.run_once() == 0

        async def dead() -> bool:
            return (await outbox.counts()).get("dead", 0) == 1

        await drain(worker, until=dead, timeout=10)
    [row] = await job_rows(db)
    assert (row.status, row.attempts) == ("dead", 3)
    assert [job["idempotency_key"] for job in await outbox.dead_letters()] == ["down-1"]

    assert await outbox.retry_dead(row.id, actor="staff:li") is True
    [row] = await job_rows(db)
    assert (row.status, row.attempts) == ("pending", 0)
    [entry] = await audit.entries(target_type="outbox_job")
    assert (entry["actor"], entry["action"], entry["after"]) == ("staff:li", "outbox.retry", {"status": "pending"})
    assert await outbox.discard_dead(row.id, actor="staff:li") is False  # only dead jobs can be discarded


def test_backoff_grows_exponentially_and_is_capped():
    outbox = Outbox(None, None, backoff_base_seconds=5, backoff_max_seconds=60)  # type: ignore[arg-type]
    delays = [outbox.backoff_seconds(n) for n in (1, 2, 3, 4, 10)]
    assert 4.5 <= delays[0] <= 5.5 and 9 <= delays[1] <= 11 and 18 <= delays[2] <= 22 and 36 <= delays[3] <= 44
    assert 54 <= delays[4] <= 66


async def test_a_job_whose_worker_died_on_its_last_attempt_is_dead_lettered(db, audit):
    outbox = Outbox(db, audit, max_attempts=1)
    async with db.transaction() as conn:
        await outbox.enqueue(conn, "push", {}, "last-1")
    [job] = await outbox.claim("dies", limit=5, lease_seconds=0.01)
    await asyncio.sleep(0.05)
    assert await outbox.claim("next", limit=5, lease_seconds=10) == []
    [row] = await job_rows(db)
    assert row.status == "dead" and "lease expired" in row.last_error


async def test_only_kinds_with_a_handler_are_claimed(db, audit):
    outbox = Outbox(db, audit)
    async with db.transaction() as conn:
        await outbox.enqueue(conn, "wechat.send", {}, "w-1")
        await outbox.enqueue(conn, "approval.handoff", {}, "a-1", delay_seconds=0)
    jobs = await outbox.claim("w", limit=10, lease_seconds=10, kinds=["approval.handoff"])
    assert [job.kind for job in jobs] == ["approval.handoff"]
    assert timedelta(0) == timedelta(0)
