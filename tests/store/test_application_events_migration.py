"""Migration 0013 on both databases, with rows in the table: the timeline survives the upgrade
and the downgrade, and afterwards an event id is unique per application, not across all."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.exc import IntegrityError

from store import migrate
from store.database import Database

EVENTS = sa.table("application_events", sa.column("number"), sa.column("event_id"), sa.column("status"),
                  sa.column("at"), sa.column("source"))  # as 0012 left it: the table, not today's metadata


async def alembic(db: Database, action: str, revision: str) -> None:
    async with db.engine.begin() as conn:
        await conn.run_sync(lambda c: getattr(command, action)(migrate._config(c), revision))


def event(number: str, event_id: str) -> dict:
    return {"number": number, "event_id": event_id, "status": "accepted", "at": datetime.now(UTC), "source": "approval"}


async def rows(db: Database) -> list[tuple[str, str]]:
    async with db.read() as conn:
        return [tuple(r) for r in await conn.execute(sa.select(EVENTS.c.number, EVENTS.c.event_id)
                                                     .order_by(EVENTS.c.number, EVENTS.c.event_id))]


async def test_event_ids_become_unique_per_application_and_nothing_is_lost(database_url):
    db = Database(database_url)
    try:
        await migrate.upgrade(db, "0012")
        async with db.transaction() as conn:
            await conn.execute(EVENTS.insert(), [event("SQ20261204000001", "1"), event("SQ20261204000002", "2")])
        kept = await rows(db)

        await alembic(db, "upgrade", "0013")
        assert await rows(db) == kept
        await alembic(db, "downgrade", "0012")  # fine while no two applications share an event id
        assert await rows(db) == kept
        await alembic(db, "upgrade", "0013")

        async with db.transaction() as conn:  # the other application's event "1": a new event now
            await conn.execute(EVENTS.insert(), [event("SQ20261204000002", "1")])
        with pytest.raises(IntegrityError):  # the same application's event "1" again: still refused
            async with db.transaction() as conn:
                await conn.execute(EVENTS.insert(), [event("SQ20261204000001", "1")])
        assert await rows(db) == [*kept[:1], ("SQ20261204000002", "1"), *kept[1:]]
    finally:
        await db.dispose()
