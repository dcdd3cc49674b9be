"""12345 demand intake (诉求受理): a complaint, suggestion or request for help becomes a ticket with
a number, a routed level-1 category, the district, a short summary and the (masked) text."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from intents.demand_router import DemandRouter
from intents.slots import RegionTable
from logs import mask_personal_data
from store.database import Database
from store.tables import demand_tickets, utcnow

STATUS_TEXT = {"received": "已受理，等待分派", "assigned": "已转交承办部门", "replied": "承办部门已答复", "closed": "已办结"}


@dataclass(frozen=True)
class DemandTicket:
    number: str
    category: str
    district: str | None
    summary: str
    status: str
    created_at: datetime
    session_key: str

    @property
    def status_text(self) -> str:
        return STATUS_TEXT.get(self.status, self.status)

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, "category": self.category, "district": self.district,
                "summary": self.summary, "status": self.status, "status_text": self.status_text,
                "created_at": self.created_at.isoformat()}


class DemandService:
    def __init__(self, db: Database, router: DemandRouter, regions: RegionTable) -> None:
        self.db = db
        self.router = router
        self.regions = regions

    async def create(self, session_key: str, channel: str, text: str, *, contact_consent: bool = False,
                     route=None) -> DemandTicket:  # type: ignore[no-untyped-def]
        route = route or self.router.route(text)
        district = self.regions.find(text)
        masked = mask_personal_data(text)
        summary = masked.replace("\n", " ")[:60]
        now = utcnow()
        for _ in range(5):  # numbers are random within the day; retry on the rare collision
            number = f"12345{now:%y%m%d}{random.randrange(10**6):06d}"
            try:
                async with self.db.transaction() as conn:
                    await conn.execute(demand_tickets.insert().values(
                        number=number, created_at=now, updated_at=now, session_key=session_key, channel=channel,
                        category=route.category, category_confidence=route.confidence,
                        district=district.name if district else None, summary=summary, text=masked[:2000],
                        contact_consent=contact_consent, status="received"))
                break
            except IntegrityError:
                continue
        else:
            raise RuntimeError("could not allocate a ticket number")
        return DemandTicket(number, route.category, district.name if district else None, summary, "received", now,
                            session_key)

    async def get(self, number: str) -> DemandTicket | None:
        async with self.db.read() as conn:
            row = (await conn.execute(sa.select(demand_tickets).where(demand_tickets.c.number == number))).first()
        if row is None:
            return None
        return DemandTicket(row.number, row.category, row.district, row.summary, row.status, row.created_at,
                            row.session_key)
