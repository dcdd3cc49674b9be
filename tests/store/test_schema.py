"""Migrations build exactly the schema that the table metadata describes, on both databases;
the audit log commits and rolls back with the change it describes."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from store import migrate
from store.tables.base import metadata


async def test_migrations_match_the_table_metadata(db):
    async with db.engine.connect() as conn:
        diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), metadata))
    assert diff == []
    assert await migrate.current_revision(db) == migrate.head_revision()
    await migrate.upgrade(db)  # a second upgrade is a no-op


async def test_audit_entries_commit_and_roll_back_with_their_change(db, audit):
    async with db.transaction() as conn:
        await audit.record(conn, actor="staff:wang", action="item.save", target_type="service_item",
                           target_id="CD-0001", before={"fees": "20元"}, after={"fees": "不收费"})
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await audit.record(conn, actor="staff:wang", action="item.save", target_type="service_item",
                               target_id="CD-0002")
            raise RuntimeError("edit failed")
    [entry] = await audit.entries(target_type="service_item")
    assert (entry["actor"], entry["target_id"], entry["before"], entry["after"]) == \
        ("staff:wang", "CD-0001", {"fees": "20元"}, {"fees": "不收费"})
    assert entry["at"].tzinfo is not None
