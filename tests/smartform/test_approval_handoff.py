"""The handoff to the approval back end under faults: a real local approval server that fails or
stalls at random, workers that die mid-delivery and are replaced — every application arrives, none
is applied twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import sqlalchemy as sa

from assistant.catalog import CatalogService
from smartform.applications import HANDOFF, ApplicationService
from smartform.approval import HttpApprovalBackend, handoff_handler
from smartform.review import PreReview
from store.audit import AuditLog
from store.database import Database
from store.outbox import Outbox, OutboxWorker
from store.tables.applications import applications
from store.tables.outbox import outbox_jobs
from tests.helpers import wait_until
from tests.smartform.local_approval import LocalApproval

SECRET = "handoff-secret"


async def submit_directly(db: Database, outbox: Outbox, count: int) -> list[str]:
    """Applications as ``ApplicationService.submit`` writes them (row and job in one transaction)."""
    numbers = [f"SQ20261122{n:06d}" for n in range(count)]
    now = datetime.now(UTC)
    async with db.transaction() as conn:
        for n, number in enumerate(numbers):
            await conn.execute(applications.insert().values(
                number=number, draft_id=f"d{n}", user_id="u", item_code="CD-0053", item_name="个体工商户设立登记",
                item_version=1, form_version=1, data={"n": n}, attachments=[], status="submitted",
                submitted_at=now, updated_at=now))
            await outbox.enqueue(conn, HANDOFF, {"number": number}, f"approval:{number}")
    return numbers


def services(db: Database, url: str) -> tuple[Outbox, HttpApprovalBackend, ApplicationService]:
    audit = AuditLog(db)
    outbox = Outbox(db, audit, backoff_base_seconds=0.05, backoff_max_seconds=0.5, max_attempts=50)
    backend = HttpApprovalBackend(url, SECRET, timeout_seconds=0.5)
    return outbox, backend, ApplicationService(db, outbox, CatalogService(db, audit), None, PreReview())  # type: ignore[arg-type]


async def test_every_application_arrives_once_through_failures_stalls_and_a_restart(database_url):
    first_db, second_db = Database(database_url), Database(database_url)
    from store import migrate
    await migrate.upgrade(first_db)
    # the process dies once 20 applications have arrived, while its next deliveries are in flight
    with LocalApproval(SECRET, fail_rate=0.25, stall_rate=0.1, stall_seconds=0.8, seed=7, pause_after=20) as approval:
        outbox, backend, apps = services(first_db, approval.base_url)
        numbers = await submit_directly(first_db, outbox, 60)
        crashing = OutboxWorker(outbox, {HANDOFF: handoff_handler(apps, backend)}, lease_seconds=1.0, batch_size=10,
                                poll_seconds=0.02)
        crashing.start()
        await wait_until(approval.paused.is_set)
        crashing._task.cancel()  # the process dies mid-delivery: leases are left behind …
        await asyncio.gather(crashing._task, return_exceptions=True)
        await backend.close()
        await first_db.dispose()  # … and, as when a process dies, its database connections close
        delivered_before = len(approval.applied)
        approval.resume.set()  # the held requests are answered: to a client that is gone

        outbox2, backend2, apps2 = services(second_db, approval.base_url)  # the restarted process
        worker = OutboxWorker(outbox2, {HANDOFF: handoff_handler(apps2, backend2)}, lease_seconds=1.0, batch_size=10,
                              poll_seconds=0.02)
        worker.start()
        await wait_until(lambda: len(approval.applied) == len(numbers))
        await worker.stop()
        await backend2.close()
        async with second_db.read() as conn:
            statuses = dict((await conn.execute(sa.select(outbox_jobs.c.status, sa.func.count())
                                                .group_by(outbox_jobs.c.status))).all())
    await second_db.dispose()
    assert 20 <= delivered_before < len(numbers)  # the crash really was mid-way
    assert sorted(approval.applied) == sorted(f"approval:{n}" for n in numbers)
    assert {body["number"] for body in approval.applied.values()} == set(numbers)
    assert sum(approval.attempts.values()) > len(numbers)  # failures and stalls were retried
    # a request cut off by the crash can arrive truncated: its signature no longer matches and it
    # is refused, and the job is sent again whole by the restarted worker
    assert approval.refused_signatures <= 10
    assert statuses.get("done", 0) + statuses.get("pending", 0) == len(numbers) and "dead" not in statuses
