"""12345 demand tickets (诉求工单): intake, where a complaint, suggestion or request for help becomes
a ticket with a number, a routed level-1 category, the district, a short summary and the (masked)
text (``DemandService``); and the staff desk that lists tickets and moves each one along
received → assigned → replied → closed, one step at a time, audited (``DemandDesk``).

A ticket holds a complaint's details and the department's answer, so a citizen hears about it
only in the chat session that filed it or, when they were signed in, as that user from any
session; anyone else is told what they would be told for a number that does not exist. The
number itself carries 16 random digits (``secrets``), so it cannot be guessed either."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from china_time import to_minute
from domain_errors import DomainError
from intents.demand_router import DemandRouter, Route
from intents.slots import RegionTable
from logs import mask_personal_data
from store.audit import AuditLog
from store.database import Database
from store.tables.base import utcnow
from store.tables.dialogue import demand_tickets

# random digits in a ticket number (~53 bits): a million guesses a day against ten thousand
# tickets of that day hit one with a chance of one in a million
RANDOM_DIGITS = 16
STATUS_TEXT = {"received": "已受理，等待分派", "assigned": "已转交承办部门", "replied": "承办部门已答复", "closed": "已办结"}
FLOW = ("received", "assigned", "replied", "closed")  # the only order a ticket may move in
MAX_NOTE = 500


@dataclass(frozen=True)
class DemandTicket:
    number: str
    category: str
    district: str | None
    summary: str
    status: str
    created_at: datetime
    session_key: str
    reply: str | None = None  # the department's answer, once replied
    user_id: str | None = None  # the signed-in user who filed it, if they were signed in

    @property
    def status_text(self) -> str:
        return STATUS_TEXT.get(self.status, self.status)

    @property
    def created_text(self) -> str:
        """When it was registered, as the citizen reads it: China time, to the minute."""
        return to_minute(self.created_at)

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, "category": self.category, "district": self.district,
                "summary": self.summary, "status": self.status, "status_text": self.status_text,
                "created_at": self.created_at.isoformat(), "reply": self.reply}


class DemandService:
    def __init__(self, db: Database, router: DemandRouter, regions: RegionTable) -> None:
        self.db = db
        self.router = router
        self.regions = regions

    def _prepare(self, text: str, route: Route | None) -> tuple[Route, str | None, str, str]:
        route = route or self.router.route(text)
        district = self.regions.find(text)
        masked = mask_personal_data(text)
        return route, district.name if district else None, masked, masked.replace("\n", " ")[:60]

    def draft(self, session_key: str, text: str, *, route: Route | None = None) -> DemandTicket:
        """The ticket ``create`` would register, without a number and without storing anything (the
        console's hit testing shows it)."""
        route, district, _, summary = self._prepare(text, route)
        return DemandTicket("", route.category, district, summary, "received", utcnow(), session_key)

    async def create(self, session_key: str, channel: str, text: str, *, user_id: str | None = None,
                     contact_consent: bool = False, route: Route | None = None) -> DemandTicket:
        """Register a ticket filed in ``session_key`` by ``user_id`` (None when not signed in): the
        two who may later ask about it."""
        route, district, masked, summary = self._prepare(text, route)
        now = utcnow()
        for _ in range(5):  # a collision of 16 random digits is next to impossible, but costs nothing to retry
            number = new_ticket_number(now)
            try:
                async with self.db.transaction() as conn:
                    await conn.execute(demand_tickets.insert().values(
                        number=number, created_at=now, updated_at=now, session_key=session_key, user_id=user_id,
                        channel=channel, category=route.category, category_confidence=route.confidence,
                        district=district, summary=summary, text=masked[:2000],
                        contact_consent=contact_consent, status="received"))
                break
            except IntegrityError:
                continue
        else:
            raise RuntimeError("could not allocate a ticket number")
        return DemandTicket(number, route.category, district, summary, "received", now, session_key, None, user_id)

    async def get(self, number: str, *, session_key: str, user_id: str | None = None) -> DemandTicket | None:
        """The ticket, if the one asking filed it: from the same session, or as the same signed-in
        user. None otherwise, exactly as for a number that does not exist, so that asking reveals
        nothing about other people's tickets."""
        asker = demand_tickets.c.session_key == session_key
        if user_id is not None:
            asker = sa.or_(asker, demand_tickets.c.user_id == user_id)
        async with self.db.read() as conn:
            row = (await conn.execute(sa.select(demand_tickets)
                                      .where(demand_tickets.c.number == number, asker))).first()
        if row is None:
            return None
        # masked again on the way out: rows stored before masking knew a format are not
        return DemandTicket(row.number, row.category, row.district, mask_personal_data(row.summary), row.status,
                            row.created_at, row.session_key, mask_personal_data(row.reply) if row.reply else None,
                            row.user_id)


def new_ticket_number(now: datetime) -> str:
    """``12345`` + the date + 16 random digits from the operating system's secure generator: long,
    but digits only, so it reads out and types on a phone keypad."""
    return f"12345{now:%y%m%d}{secrets.randbelow(10**RANDOM_DIGITS):0{RANDOM_DIGITS}d}"


class DemandError(DomainError):
    """A ticket change that cannot be made as asked."""


class DemandDesk:
    """Staff handling of tickets. Apart from ``DemandService`` because it needs neither the router
    nor the region table (which are built with the assistant's models, and may be off)."""

    def __init__(self, db: Database, audit: AuditLog | None = None) -> None:
        self.db = db
        self.audit = audit or AuditLog(db)

    async def tickets(self, *, category: str | None = None, status: str | None = None, offset: int = 0,
                      limit: int = 50) -> tuple[list[dict[str, Any]], int]:
        """One page of tickets, newest first, and how many match. No session key: it names the user."""
        conditions = []
        if category:
            conditions.append(demand_tickets.c.category == category)
        if status:
            conditions.append(demand_tickets.c.status == status)
        columns = [demand_tickets.c[name] for name in ("number", "created_at", "updated_at", "channel", "category",
                                                       "district", "summary", "text", "status")]
        async with self.db.read() as conn:
            total = (await conn.execute(sa.select(sa.func.count()).select_from(demand_tickets)
                                        .where(*conditions))).scalar()
            rows = await conn.execute(sa.select(*columns).where(*conditions)
                                      .order_by(demand_tickets.c.created_at.desc(), demand_tickets.c.number.desc())
                                      .offset(max(offset, 0)).limit(min(max(limit, 1), 200)))
            # summary and text masked again: rows stored before masking knew a format are not
            items = [{**row._mapping, "summary": mask_personal_data(row.summary), "text": mask_personal_data(row.text),
                      "status_text": STATUS_TEXT.get(row.status, row.status), "next": next_status(row.status)}
                     for row in rows]
        return items, int(total or 0)

    async def categories(self) -> list[str]:
        """The categories tickets have been routed to, for the filter."""
        async with self.db.read() as conn:
            rows = await conn.execute(sa.select(demand_tickets.c.category).distinct()
                                      .order_by(demand_tickets.c.category).limit(200))
            return [row.category for row in rows]

    async def advance(self, number: str, status: str, note: str, actor: str) -> DemandTicket:
        """Move a ticket to ``status``, which must be the next one in ``FLOW``: a ticket is never
        sent back, nor a step skipped (a reply is not closed before it was given). Moving to
        ``replied`` needs the department's answer as ``note``: it is what the citizen is told when
        they ask about the ticket. Other notes are for staff (kept in the audit entry)."""
        if status not in FLOW:
            raise DemandError("unknown_status", "未知的工单状态")
        # the reply is shown to the citizen and the note kept in the audit log: neither may carry
        # the complainant's phone or ID number that a department copied into its answer
        note = mask_personal_data(note.strip())
        if len(note) > MAX_NOTE:
            raise DemandError("note_too_long", f"处理说明不能超过 {MAX_NOTE} 字")

        async with self.db.transaction() as conn:
            row = (await conn.execute(sa.select(demand_tickets).where(demand_tickets.c.number == number)
                                      .with_for_update())).first()
            if row is None:
                raise DemandError("ticket_not_found", f"没有工单 {number}")
            if next_status(row.status) != status:
                raise DemandError("wrong_transition",
                                  f"工单当前为“{STATUS_TEXT.get(row.status, row.status)}”，"
                                  + (f"下一步只能是“{STATUS_TEXT[next_status(row.status) or '']}”"
                                     if next_status(row.status) else "已办结，不能再改"))
            if status == "replied" and not note:
                raise DemandError("reply_required", "请填写承办部门的答复内容（群众查询工单时可见）")
            now = utcnow()
            await conn.execute(demand_tickets.update().where(demand_tickets.c.number == number,
                                                             demand_tickets.c.status == row.status)
                               .values(status=status, updated_at=now,
                                       **({"reply": note} if status == "replied" else {})))
            await self.audit.record(conn, actor=actor, action="demand.advance", target_type="demand_ticket",
                                    target_id=number, before={"status": row.status}, after={"status": status},
                                    details={"note": note} if note else None)
        return DemandTicket(row.number, row.category, row.district, row.summary, status, row.created_at,
                            row.session_key, note if status == "replied" else row.reply, row.user_id)


def next_status(status: str) -> str | None:
    index = FLOW.index(status) if status in FLOW else len(FLOW) - 1
    return FLOW[index + 1] if index + 1 < len(FLOW) else None
