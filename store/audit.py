"""The audit log: who did what to which record, when, with the record before and after.

Entries are written on the caller's connection, inside the transaction of the change
they describe, so a change and its audit entry commit (or roll back) together.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from store.database import Database
from store.tables.audit import audit_log
from store.tables.base import utcnow


class AuditLog:
    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock

    async def record(
        self,
        conn: AsyncConnection,
        *,
        actor: str,
        action: str,
        target_type: str,
        target_id: str,
        before: Any = None,
        after: Any = None,
        details: Any = None,
    ) -> None:
        await conn.execute(
            audit_log.insert().values(
                at=self.clock(), actor=actor, action=action, target_type=target_type,
                target_id=target_id, before=before, after=after, details=details,
            )
        )

    async def entries(
        self,
        *,
        target_type: str | None = None,
        target_id: str | None = None,
        actor: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Newest first."""
        query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if target_type is not None:
            query = query.where(audit_log.c.target_type == target_type)
        if target_id is not None:
            query = query.where(audit_log.c.target_id == target_id)
        if actor is not None:
            query = query.where(audit_log.c.actor == actor)
        async with self.db.read() as conn:
            return [dict(row._mapping) for row in await conn.execute(query)]
