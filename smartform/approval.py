"""The approval back end (审批系统), behind one small interface.

- ``HttpApprovalBackend``: ``POST {url}/applications`` with the application, an ``Idempotency-Key``
  (the application number) and an HMAC-SHA256 signature; a 2xx, or a 409 saying it already has
  the application, is delivered; 429 comes back later; other 4xx are refused for good
  (dead-lettered for staff); 5xx, timeouts and refused connections are retried with backoff by
  the outbox.
- ``Workbench``: the embedded default, a queue that staff work through in the console.

Status reports come back signed the same way (``verify_signature``) to ``/api/v1/approval/callback``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any, Protocol

import httpx
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from smartform.applications import ApplicationService
from store.database import Database
from store.outbox import OutboxJob, PermanentFailure, RetryLater
from store.tables import approval_queue, utcnow


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, timestamp: str, given: str, body: bytes, *, window_seconds: float = 300,
                     now: float | None = None) -> bool:
    if not timestamp.isdigit() or abs(int(timestamp) - (now or time.time())) > window_seconds:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), given or "")


class ApprovalBackend(Protocol):
    async def deliver(self, payload: dict[str, Any], key: str) -> None: ...


class HttpApprovalBackend:
    def __init__(self, url: str, secret: str, *, timeout_seconds: float = 10.0) -> None:
        self.http = httpx.AsyncClient(base_url=url.rstrip("/"), timeout=timeout_seconds)
        self._secret = secret

    async def close(self) -> None:
        await self.http.aclose()

    async def deliver(self, payload: dict[str, Any], key: str) -> None:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        timestamp = str(int(time.time()))
        response = await self.http.post("/applications", content=body, headers={
            "Content-Type": "application/json", "Idempotency-Key": key, "X-Timestamp": timestamp,
            "X-Signature": signature(self._secret, timestamp, body)})
        if response.is_success or response.status_code == 409:
            return
        if response.status_code == 429:
            raise RetryLater("the approval back end asked us to slow down",
                             float(response.headers.get("Retry-After", "30") or 30))
        if 400 <= response.status_code < 500 and response.status_code != 408:
            raise PermanentFailure(f"the approval back end refused the application: HTTP {response.status_code} "
                                   f"{response.text[:200]}")
        raise RuntimeError(f"the approval back end answered HTTP {response.status_code}")


class Workbench:
    """The embedded approval back end: applications wait in ``approval_queue`` for staff."""

    def __init__(self, db: Database, applications: ApplicationService) -> None:
        self.db = db
        self.applications = applications

    async def deliver(self, payload: dict[str, Any], key: str) -> None:
        async with self.db.transaction() as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            await conn.execute(dialect.insert(approval_queue).values(
                number=payload["number"], payload=payload, received_at=utcnow(), status="submitted",
            ).on_conflict_do_nothing(index_elements=["number"]))

    async def waiting(self, limit: int = 100) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            rows = await conn.execute(sa.select(approval_queue).where(~approval_queue.c.status.in_(
                ["rejected", "certificate_issued"])).order_by(approval_queue.c.received_at).limit(limit))
            return [dict(row._mapping) for row in rows]

    async def decide(self, number: str, status: str, note: str | None, actor: str) -> bool:
        recorded = await self.applications.record_status(
            number, status, event_id=f"workbench:{uuid.uuid4().hex}", note=note, source=f"workbench:{actor}")
        if not recorded:
            return False
        async with self.db.transaction() as conn:
            await conn.execute(approval_queue.update().where(approval_queue.c.number == number).values(status=status))
        return True


def handoff_handler(applications: ApplicationService, backend: ApprovalBackend):  # type: ignore[no-untyped-def]
    """The outbox handler that hands an application to the approval back end."""
    async def handle(job: OutboxJob) -> None:
        await backend.deliver(await applications.handoff_payload(job.payload["number"]), job.idempotency_key)
    return handle
