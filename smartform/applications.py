"""Applications (申请): submission, status, timeline, notifications.

Submitting writes the application (number, form data, attachments, the guide version it was made
under), its first timeline entry, the user's message and the approval handoff job in one
transaction; a second submit of the same draft (a double click, a retry) returns the same
application. Status changes come from the approval back end's callback or the embedded workbench;
each must be one the status flow allows (``smartform.status_flow``), is added to the timeline once
(by its event id, which identifies an event within its application) and tells the user — in the
message centre, and by a subscribe message where they consented to one.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from domain_errors import DomainError
from smartform.drafts import OPEN, SUBMITTED, DraftError, DraftService
from smartform.review import PreReview, Problem, visible
from smartform.schemas import FormSchema
from smartform.status_flow import STATUSES, check_transition
from store.database import Database
from store.outbox import Outbox
from store.tables.applications import application_events, applications
from store.tables.base import utcnow
from store.tables.forms import drafts
from store.tables.identity import users
from store.tables.messages import subscriptions, user_messages

log = logging.getLogger(__name__)

HANDOFF = "approval.handoff"
STATUS_TEMPLATE_SCENE = "application_status"


class ReviewFailed(DomainError):
    """Pre-review (智能受理) found problems; ``details`` lists them."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("review_failed", "表单还有问题，请修改后再提交", [p.to_json() for p in problems])
        self.problems = problems


@dataclass
class Application:
    number: str
    user_id: str
    item_code: str
    item_name: str
    item_version: int
    status: str
    submitted_at: datetime
    timeline: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, "item_code": self.item_code, "item_name": self.item_name,
                "item_version": self.item_version, "status": self.status, "status_text": STATUSES[self.status],
                "submitted_at": self.submitted_at.isoformat(), "timeline": self.timeline}


class NamedItem(Protocol):
    @property
    def name(self) -> str: ...


class PublishedItem(Protocol):
    """A service item as published: what an application records of it."""

    @property
    def item(self) -> NamedItem: ...

    @property
    def version(self) -> int: ...


class ItemLookup(Protocol):
    """Where the published service items are (the guide catalog, ``assistant.catalog.CatalogService``)."""

    async def get_item(self, code: str) -> PublishedItem | None: ...


class ApplicationService:
    def __init__(self, db: Database, outbox: Outbox, catalog: ItemLookup, draft_service: DraftService,
                 review: PreReview, *, subscribe_template: str = "", senders: Any = None) -> None:
        self.db = db
        self.outbox = outbox
        self.catalog = catalog
        self.drafts = draft_service
        self.review = review
        self.subscribe_template = subscribe_template
        self.senders = senders  # wechat senders, when the WeChat API is configured

    async def pre_review(self, user_id: str, form: FormSchema, draft_id: str) -> list[Problem]:
        draft = await self.drafts.get(user_id, draft_id)
        uploaded = {a["key"] for a in await self.drafts.attachments_of(draft_id)}
        return await self.review.review(form, draft.data, uploaded)

    async def submit(self, user_id: str, form: FormSchema, draft_id: str) -> tuple[Application, bool]:
        """(the application, whether it was created now). ``ReviewFailed`` if pre-review finds problems."""
        draft = await self.drafts.get(user_id, draft_id)
        if draft.status == SUBMITTED:
            return await self._by_draft(draft_id), False
        files = await self.drafts.attachments_of(draft_id)
        problems = await self.review.review(form, draft.data, {a["key"] for a in files})
        if problems:
            raise ReviewFailed(problems)
        record = await self.catalog.get_item(form.item_code)
        if record is None:
            raise DraftError("item_not_found", "事项不存在或已下线")
        # what was hidden when submitted is not part of the application
        data = {f.key: draft.data[f.key] for f in form.fields if f.key in draft.data and visible(f.visible_if, draft.data)}
        now = utcnow()
        async with self.db.transaction() as conn:
            row = (await conn.execute(sa.select(drafts.c.status).where(drafts.c.id == draft_id).with_for_update())).one()
            if row.status != OPEN:  # a concurrent submit of the same draft got here first
                created = False
            else:
                number = await self._new_number(conn, now)
                await conn.execute(applications.insert().values(
                    number=number, draft_id=draft_id, user_id=user_id, item_code=form.item_code,
                    item_name=record.item.name, item_version=record.version, form_version=form.version, data=data,
                    attachments=files, status="submitted", submitted_at=now, updated_at=now))
                await conn.execute(drafts.update().where(drafts.c.id == draft_id).values(status=SUBMITTED, updated_at=now))
                await self._add_event(conn, number, f"{number}:submitted", "submitted", None, now, "us")
                await self._tell_user(conn, user_id, number, record.item.name, "submitted", None)
                await self.outbox.enqueue(conn, HANDOFF, {"number": number}, f"approval:{number}")
                created = True
        if not created:
            return await self._by_draft(draft_id), False
        return Application(number, user_id, form.item_code, record.item.name, record.version, "submitted", now, [
            {"status": "submitted", "status_text": STATUSES["submitted"], "note": None, "at": now.isoformat()}]), True

    @staticmethod
    async def _new_number(conn: AsyncConnection, now: datetime) -> str:
        for _ in range(20):
            number = f"SQ{now:%Y%m%d}{secrets.randbelow(10**6):06d}"
            taken = (await conn.execute(sa.select(applications.c.number).where(applications.c.number == number))).first()
            if not taken:
                return number
        raise RuntimeError("could not find a free application number")

    async def record_status(self, number: str, status: str, *, event_id: str, note: str | None, source: str,
                            at: datetime | None = None) -> bool | None:
        """A status reported for an application. None: no such application; False: this event was
        already recorded for it (a resend); True: recorded, timeline and user told.
        ``InvalidTransition`` if the status flow does not allow the change: nothing is written."""
        async with self.db.transaction() as conn:
            return await self.record_status_on(conn, number, status, event_id=event_id, note=note, source=source,
                                               at=at)

    async def record_status_on(self, conn: AsyncConnection, number: str, status: str, *, event_id: str,
                               note: str | None, source: str, at: datetime | None = None) -> bool | None:
        """``record_status`` in the caller's transaction, so that a caller who checks the current
        status first (the workbench) changes it under the same lock and audits it in the same commit."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        at = at or utcnow()
        row = (await conn.execute(sa.select(applications.c.user_id, applications.c.item_name, applications.c.status)
                                  .where(applications.c.number == number).with_for_update())).first()
        if row is None:
            return None
        # a back end may number its events per application: the id names an event only within one
        seen = (await conn.execute(sa.select(application_events.c.id).where(
            application_events.c.number == number, application_events.c.event_id == event_id[:64]))).first()
        if seen:  # checked before the flow: a resend stays a no-op even once a later status has come
            return False
        check_transition(number, row.status, status)
        await self._add_event(conn, number, event_id, status, note, at, source)
        await conn.execute(applications.update().where(applications.c.number == number)
                           .values(status=status, updated_at=utcnow()))
        await self._tell_user(conn, row.user_id, number, row.item_name, status, note)
        return True

    @staticmethod
    async def _add_event(conn: AsyncConnection, number: str, event_id: str, status: str, note: str | None,
                         at: datetime, source: str) -> None:
        await conn.execute(application_events.insert().values(
            number=number, event_id=event_id[:64], status=status, note=(note or "")[:500] or None, at=at,
            source=source[:32]))  # the column's width: a long staff name must not fail the change

    async def _tell_user(self, conn: AsyncConnection, user_id: str, number: str, item_name: str, status: str,
                         note: str | None) -> None:
        text = f"您的“{item_name}”申请（{number}）{STATUSES[status]}。" + (f"说明：{note}" if note else "")
        await conn.execute(user_messages.insert().values(
            user_id=user_id, kind="application", title=f"办件进度：{STATUSES[status]}", body=text[:1000], ref=number,
            created_at=utcnow()))
        if self.senders is None or not self.subscribe_template:
            return
        consent = (await conn.execute(sa.select(subscriptions).where(
            subscriptions.c.user_id == user_id, subscriptions.c.scene == STATUS_TEMPLATE_SCENE,
            subscriptions.c.template_id == self.subscribe_template, subscriptions.c.remaining > 0,
        ).order_by(subscriptions.c.long_term, subscriptions.c.id).limit(1))).first()
        openid = (await conn.execute(sa.select(users.c.openid).where(users.c.id == user_id))).scalar()
        if consent is None or not openid:
            return
        if not consent.long_term:  # a one-time consent is used up by this message
            await conn.execute(subscriptions.update().where(subscriptions.c.id == consent.id)
                               .values(remaining=subscriptions.c.remaining - 1))
        await self.senders.enqueue_subscribe(
            conn, openid, self.subscribe_template,
            {"character_string1": number, "thing2": item_name[:20], "phrase3": STATUSES[status]},
            f"subscribe:{number}:{status}:{consent.id}", page=f"pages/applications/detail?no={number}")

    async def _by_draft(self, draft_id: str) -> Application:
        async with self.db.read() as conn:
            number = (await conn.execute(sa.select(applications.c.number)
                                         .where(applications.c.draft_id == draft_id))).scalar_one()
        found = await self.get(number)
        assert found is not None
        return found

    async def get(self, number: str, owner: str | None = None) -> Application | None:
        """The application with its timeline; None if absent or (with ``owner``) someone else's."""
        async with self.db.read() as conn:
            row = (await conn.execute(sa.select(applications).where(applications.c.number == number))).first()
            if row is None or (owner is not None and row.user_id != owner):
                return None
            events = await conn.execute(sa.select(application_events).where(application_events.c.number == number)
                                        .order_by(application_events.c.at, application_events.c.id))
            timeline = [{"status": e.status, "status_text": STATUSES[e.status], "note": e.note, "at": e.at.isoformat()}
                        for e in events]
        return Application(row.number, row.user_id, row.item_code, row.item_name, row.item_version, row.status,
                           row.submitted_at, timeline)

    async def of_user(self, user_id: str, page: int, page_size: int) -> tuple[list[dict[str, Any]], int]:
        """The user's applications, newest first: one page of summaries, and how many there are."""
        mine = applications.c.user_id == user_id
        async with self.db.read() as conn:
            total = (await conn.execute(sa.select(sa.func.count()).select_from(applications).where(mine))).scalar()
            rows = await conn.execute(
                sa.select(applications.c.number, applications.c.item_code, applications.c.item_name,
                          applications.c.status, applications.c.submitted_at, applications.c.updated_at)
                .where(mine).order_by(applications.c.submitted_at.desc(), applications.c.number.desc())
                .offset((page - 1) * page_size).limit(page_size))
            items = [{"number": r.number, "item_code": r.item_code, "item_name": r.item_name, "status": r.status,
                      "status_text": STATUSES[r.status], "submitted_at": r.submitted_at.isoformat(),
                      "updated_at": r.updated_at.isoformat()} for r in rows]
        return items, int(total or 0)

    async def handoff_payload(self, number: str) -> dict[str, Any]:
        """What the approval back end receives."""
        async with self.db.read() as conn:
            row = (await conn.execute(sa.select(applications).where(applications.c.number == number))).one()
        return {"number": row.number, "item_code": row.item_code, "item_name": row.item_name,
                "item_version": row.item_version, "form_version": row.form_version, "data": row.data,
                "attachments": row.attachments, "submitted_at": row.submitted_at.isoformat()}
