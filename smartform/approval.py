"""The approval back end (审批系统), behind one small interface.

- ``HttpApprovalBackend``: ``POST {url}/applications`` with the application, an ``Idempotency-Key``
  (the application number) and an HMAC-SHA256 signature; a 2xx, or a 409 saying it already has
  the application, is delivered; 429 comes back later; other 4xx are refused for good
  (dead-lettered for staff); 5xx, timeouts and refused connections are retried with backoff by
  the outbox.
- ``Workbench``: the embedded default, a queue that staff work through in the console (审批工作台):
  accept (受理), ask for supplements (补正), approve (审批通过) or reject (不予受理 / 不予批准), each
  only from the statuses the status flow (``smartform.status_flow``) lets it follow, audited, and
  told to the citizen like any status report.

Status reports come back signed the same way (``verify_signature``) to ``/api/v1/approval/callback``;
their ``X-Timestamp`` is checked by ``check_timestamp`` before anything is computed from it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from domain_errors import DomainError
from smartform.applications import STATUSES, ApplicationService
from smartform.status_flow import DECIDED, InvalidTransition, changes_into
from store.audit import AuditLog
from store.database import Database
from store.outbox import OutboxJob, PermanentFailure, RetryLater
from store.tables.applications import application_events, applications, approval_queue
from store.tables.base import utcnow
from store.tables.identity import users

SIGNATURE_WINDOW_SECONDS = 300  # how far a signed request's timestamp may be from our clock
# Unix seconds have 10 digits until the year 2286; a longer "timestamp" is not a time, and turning
# hundreds of digits into a number (and that into a float) is work, or an OverflowError, for nothing
TIMESTAMP_MAX_DIGITS = 11
TIMESTAMP_FORMAT = "Unix 时间戳（秒，十进制整数）"


class BadTimestamp(ValueError):
    """An ``X-Timestamp`` that is not Unix seconds, or not within the window around our clock."""

    code = "bad_timestamp"

    def __init__(self, message: str, problem: str, window_seconds: float) -> None:
        super().__init__(message)
        self.details = {"header": "X-Timestamp", "problem": problem, "expected": TIMESTAMP_FORMAT,
                        "window_seconds": window_seconds}


def check_timestamp(timestamp: str, *, window_seconds: float = SIGNATURE_WINDOW_SECONDS,
                    now: float | None = None) -> int:
    """The timestamp as Unix seconds; ``BadTimestamp`` unless it is 1 to 11 ASCII digits within
    ``window_seconds`` of ``now``. The length is checked before any arithmetic."""
    # isdigit() alone would let through full-width and superscript digits, which int() may refuse
    if not 0 < len(timestamp) <= TIMESTAMP_MAX_DIGITS or not timestamp.isascii() or not timestamp.isdigit():
        raise BadTimestamp(f"X-Timestamp 格式不正确：须为{TIMESTAMP_FORMAT}，最多 {TIMESTAMP_MAX_DIGITS} 位",
                           "format", window_seconds)
    seconds = int(timestamp)
    if abs(seconds - int(time.time() if now is None else now)) > window_seconds:
        raise BadTimestamp(f"X-Timestamp 与服务器时间相差超过 {window_seconds:g} 秒：请用当前的{TIMESTAMP_FORMAT}重新签名",
                           "out_of_window", window_seconds)
    return seconds


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, timestamp: str, given: str, body: bytes, *,
                     window_seconds: float = SIGNATURE_WINDOW_SECONDS, now: float | None = None) -> bool:
    try:
        check_timestamp(timestamp, window_seconds=window_seconds, now=now)
    except BadTimestamp:
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


@dataclass(frozen=True)
class WorkbenchAction:
    """What a staff member may do to an application in the workbench."""

    status: str  # the status it records, one ApplicationService knows
    label: str
    needs_reason: bool

    @property
    def allowed_from(self) -> frozenset[str]:
        """The statuses it may be taken from: those the status flow lets its status follow, so the
        workbench and the approval back end's reports obey one table. ``in_review`` is only ever
        reported by an external back end, but an application in it may be worked on."""
        return changes_into(self.status)


ACTIONS: dict[str, WorkbenchAction] = {
    "accept": WorkbenchAction("accepted", "受理", False),
    "supplement": WorkbenchAction("supplement_requested", "要求补正", True),
    "approve": WorkbenchAction("approved", "审批通过（办结）", False),
    "reject": WorkbenchAction("rejected", "不予受理 / 不予批准", True),
}
NOT_YET_ACCEPTED = frozenset({"submitted", "supplement_requested"})
MAX_REASON = 400  # the timeline note holds 500, and a rejection is prefixed with what it was


class WorkbenchError(DomainError):
    """An approval action the workbench cannot take as asked."""


def applicant(row: Any) -> str:
    """Who applied, as staff lists show it: the masked name and ID number of the bound user (the
    table keeps only masked forms), the enterprise they act for; never the user id."""
    parts = [p for p in (row.name_masked, row.id_number_masked) if p]
    if row.uscc:
        parts.append(f"代{row.uscc}")
    return " ".join(parts) or "未实名用户"


class Workbench:
    """The embedded approval back end: applications wait in ``approval_queue`` for staff."""

    def __init__(self, db: Database, applications: ApplicationService, audit: AuditLog | None = None) -> None:
        self.db = db
        self.applications = applications
        self.audit = audit or AuditLog(db)

    async def deliver(self, payload: dict[str, Any], key: str) -> None:
        async with self.db.transaction() as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            await conn.execute(dialect.insert(approval_queue).values(
                number=payload["number"], payload=payload, received_at=utcnow(), status="submitted",
            ).on_conflict_do_nothing(index_elements=["number"]))

    async def waiting(self, limit: int = 100) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            rows = await conn.execute(sa.select(approval_queue).where(~approval_queue.c.status.in_(
                sorted(DECIDED))).order_by(approval_queue.c.received_at).limit(limit))
            return [dict(row._mapping) for row in rows]

    async def queue(self, limit: int = 200) -> list[dict[str, Any]]:
        """The applications still to be worked on, oldest first, with what a list shows of them."""
        query = (sa.select(applications.c.number, applications.c.item_code, applications.c.item_name,
                           applications.c.status, applications.c.submitted_at, applications.c.updated_at,
                           approval_queue.c.received_at, users.c.name_masked, users.c.id_number_masked, users.c.uscc)
                 .select_from(approval_queue.join(applications, applications.c.number == approval_queue.c.number)
                              .outerjoin(users, users.c.id == applications.c.user_id))
                 .where(~applications.c.status.in_(sorted(DECIDED)))
                 .order_by(applications.c.submitted_at, applications.c.number).limit(limit))
        async with self.db.read() as conn:
            rows = list(await conn.execute(query))
        return [{"number": r.number, "item_code": r.item_code, "item_name": r.item_name, "status": r.status,
                 "status_text": STATUSES[r.status], "submitted_at": r.submitted_at, "updated_at": r.updated_at,
                 "received_at": r.received_at, "applicant": applicant(r)} for r in rows]

    async def case(self, number: str) -> dict[str, Any] | None:
        """One application as the approver opens it: form data, attachments, timeline, and the
        actions its status allows. None if the workbench never received it."""
        async with self.db.read() as conn:
            row = (await conn.execute(
                sa.select(applications, users.c.name_masked, users.c.id_number_masked, users.c.uscc)
                .select_from(approval_queue.join(applications, applications.c.number == approval_queue.c.number)
                             .outerjoin(users, users.c.id == applications.c.user_id))
                .where(approval_queue.c.number == number))).first()
            if row is None:
                return None
            events = await conn.execute(sa.select(application_events).where(application_events.c.number == number)
                                        .order_by(application_events.c.at, application_events.c.id))
            timeline = [{"status": e.status, "status_text": STATUSES[e.status], "note": e.note, "at": e.at,
                         "by": _by(e.source)} for e in events]
        return {"number": row.number, "item_code": row.item_code, "item_name": row.item_name,
                "item_version": row.item_version, "form_version": row.form_version, "status": row.status,
                "status_text": STATUSES[row.status], "submitted_at": row.submitted_at, "data": row.data,
                "attachments": row.attachments, "applicant": applicant(row), "timeline": timeline,
                "actions": [name for name, action in ACTIONS.items() if row.status in action.allowed_from]}

    async def attachment(self, number: str, attachment_id: str, actor: str) -> dict[str, Any] | None:
        """One attachment of an application the workbench received, as the approver opens it; the
        opening is audited (it is the applicant's personal document). None if there is no such file."""
        async with self.db.transaction() as conn:
            files = (await conn.execute(sa.select(applications.c.attachments).select_from(
                approval_queue.join(applications, applications.c.number == approval_queue.c.number))
                .where(approval_queue.c.number == number))).scalar()
            found = next((f for f in files or [] if f.get("id") == attachment_id), None)
            if found is not None:
                await self.audit.record(conn, actor=actor, action="application.attachment.open",
                                        target_type="application", target_id=number,
                                        details={"attachment": attachment_id, "key": found.get("key")})
        return found

    async def act(self, number: str, action: str, reason: str, actor: str) -> str:
        """A staff decision on an application; returns the status recorded. The current status is
        read and changed under one lock, so two approvers clicking at once decide it once."""
        chosen = ACTIONS.get(action)
        if chosen is None:
            raise WorkbenchError("unknown_action", "未知的审批操作")
        reason = " ".join(reason.split())
        if chosen.needs_reason and not reason:
            raise WorkbenchError("reason_required", f"{chosen.label}须填写原因")
        if len(reason) > MAX_REASON:
            raise WorkbenchError("reason_too_long", f"原因不能超过 {MAX_REASON} 字")
        async with self.db.transaction() as conn:
            row = (await conn.execute(sa.select(applications.c.status).select_from(
                approval_queue.join(applications, applications.c.number == approval_queue.c.number))
                .where(approval_queue.c.number == number).with_for_update(of=applications))).first()
            if row is None:
                raise WorkbenchError("application_not_found", f"工作台中没有申请 {number}")
            current = row.status
            if current in DECIDED:  # nothing is left for the workbench to do (the citizen may still rate it)
                raise WorkbenchError("already_decided",
                                     f"该申请已{STATUSES[current]}，不能再{chosen.label}")
            if current not in chosen.allowed_from:
                raise WorkbenchError("not_allowed_now",
                                     f"该申请当前为“{STATUSES[current]}”，不能{chosen.label}")
            note = reason or None
            if action == "reject":  # one status for both: the citizen is told which it was
                note = f"{'不予受理' if current in NOT_YET_ACCEPTED else '不予批准'}。原因：{reason}"
            elif action == "supplement":
                note = f"请补正：{reason}"
            await self.applications.record_status_on(
                conn, number, chosen.status, event_id=f"workbench:{uuid.uuid4().hex}", note=note,
                source=f"workbench:{actor}")
            await conn.execute(approval_queue.update().where(approval_queue.c.number == number)
                               .values(status=chosen.status))
            await self.audit.record(conn, actor=actor, action=f"application.{action}", target_type="application",
                                    target_id=number, before={"status": current}, after={"status": chosen.status},
                                    details={"note": note} if note else None)
        return chosen.status

    async def decide(self, number: str, status: str, note: str | None, actor: str) -> bool:
        """Record any status for an application the workbench holds, as staff decide it; the
        status flow applies here too (``invalid_transition``). False if there is no such
        application."""
        try:
            recorded = await self.applications.record_status(
                number, status, event_id=f"workbench:{uuid.uuid4().hex}", note=note, source=f"workbench:{actor}")
        except InvalidTransition as refused:
            raise WorkbenchError(refused.code, str(refused)) from None
        if not recorded:
            return False
        async with self.db.transaction() as conn:
            await conn.execute(approval_queue.update().where(approval_queue.c.number == number).values(status=status))
        return True


def _by(source: str) -> str:
    # the timeline's source as staff read it: the citizen's own step, a colleague, or the back end
    if source.startswith("workbench:"):
        return source.removeprefix("workbench:")
    return {"us": "申请人提交", "approval": "审批系统"}.get(source, source)


def handoff_handler(applications: ApplicationService, backend: ApprovalBackend):  # type: ignore[no-untyped-def]
    """The outbox handler that hands an application to the approval back end."""
    async def handle(job: OutboxJob) -> None:
        await backend.deliver(await applications.handoff_payload(job.payload["number"]), job.idempotency_key)
    return handle
