"""The user's message centre (消息中心) and their subscribe-message consents (订阅消息)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from store.database import Database
from store.tables.base import utcnow
from store.tables.messages import subscriptions, user_messages


class MessageCentre:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def page(self, user_id: str, page: int, page_size: int, unread_only: bool = False) -> dict[str, Any]:
        condition = [user_messages.c.user_id == user_id]
        if unread_only:
            condition.append(user_messages.c.read_at.is_(None))
        async with self.db.read() as conn:
            total = (await conn.execute(sa.select(sa.func.count()).select_from(user_messages).where(*condition))).scalar()
            unread = (await conn.execute(sa.select(sa.func.count()).select_from(user_messages).where(
                user_messages.c.user_id == user_id, user_messages.c.read_at.is_(None)))).scalar()
            rows = await conn.execute(sa.select(user_messages).where(*condition).order_by(user_messages.c.id.desc())
                                      .offset((page - 1) * page_size).limit(page_size))
            items = [{"id": r.id, "kind": r.kind, "title": r.title, "body": r.body, "ref": r.ref,
                      "created_at": r.created_at.isoformat(), "read": r.read_at is not None} for r in rows]
        return {"items": items, "page": page, "page_size": page_size, "total": total, "unread": unread}

    async def mark_read(self, user_id: str, message_id: int | None = None) -> int:
        """Mark one message (or, without an id, all) of the user's as read; how many changed."""
        condition = [user_messages.c.user_id == user_id, user_messages.c.read_at.is_(None)]
        if message_id is not None:
            condition.append(user_messages.c.id == message_id)
        async with self.db.transaction() as conn:
            result = await conn.execute(user_messages.update().where(*condition).values(read_at=utcnow()))
        return result.rowcount


class Subscriptions:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, user_id: str, template_id: str, scene: str, long_term: bool, count: int) -> dict[str, Any]:
        now = utcnow()
        async with self.db.transaction() as conn:
            result = await conn.execute(subscriptions.insert().values(
                user_id=user_id, template_id=template_id, scene=scene, long_term=long_term,
                remaining=1 if long_term else count, created_at=now).returning(subscriptions.c.id))
            return {"id": int(result.scalar_one()), "template_id": template_id, "scene": scene,
                    "long_term": long_term, "remaining": 1 if long_term else count, "created_at": now.isoformat()}

    async def of_user(self, user_id: str) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            rows = await conn.execute(sa.select(subscriptions).where(subscriptions.c.user_id == user_id)
                                      .order_by(subscriptions.c.id))
            return [{"id": r.id, "template_id": r.template_id, "scene": r.scene, "long_term": r.long_term,
                     "remaining": r.remaining, "created_at": r.created_at.isoformat()} for r in rows]
