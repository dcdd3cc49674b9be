"""Migration 0014 on both databases: policy versions and guide drafts written before it learn who
saved each of their revisions from the audit log, so that a change already in review when it is
applied keeps the own-change rule (the latest author alone would let an earlier one approve)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from assistant.catalog import CatalogService
from assistant.guide_drafts import GuideDraftError, GuideDrafts
from policy_graph.curation import CurationError, PolicyCuration
from policy_graph.facts import FactCatalogue
from policy_graph.graph import PolicyGraph
from store import migrate
from store.audit import AuditLog
from store.database import Database
from store.tables.base import UTCDateTime

# the tables as they were at revision 0013
audit_log = sa.table("audit_log", sa.column("at", UTCDateTime()), sa.column("actor", sa.String),
                     sa.column("action", sa.String), sa.column("target_type", sa.String),
                     sa.column("target_id", sa.String), sa.column("before", sa.JSON), sa.column("after", sa.JSON),
                     sa.column("details", sa.JSON))
policy_nodes = sa.table("policy_nodes", *(sa.column(c) for c in ("id", "kind", "name", "status", "latest_version")),
                        sa.column("updated_at", UTCDateTime()))
policy_node_versions = sa.table(
    "policy_node_versions", *(sa.column(c) for c in ("node_id", "version", "state", "name", "revision", "author")),
    sa.column("data", sa.JSON), sa.column("edges", sa.JSON), sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()))
guide_drafts = sa.table("guide_drafts", *(sa.column(c) for c in ("code", "base_version", "revision", "author")),
                        sa.column("document", sa.JSON), sa.column("created_at", UTCDateTime()),
                        sa.column("updated_at", UTCDateTime()))
T0 = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
async def old_db(database_url):  # type: ignore[no-untyped-def]
    database = Database(database_url)
    await migrate.upgrade(database, "0013")
    yield database
    await database.dispose()


def saved(at: datetime, actor: str, action: str, target_type: str, target_id: str, *, after: object = None,
          details: object = None) -> dict[str, object]:
    return {"at": at, "actor": actor, "action": action, "target_type": target_type, "target_id": target_id,
            "before": None, "after": after, "details": details}


async def test_revisions_saved_before_the_migration_keep_their_authors_from_the_audit_log(old_db):
    node, version_row = "item:cd-old", {"state": "in_review", "name": "旧事项", "data": {}, "edges": [],
                                        "created_at": T0, "updated_at": T0}
    async with old_db.transaction() as conn:
        await conn.execute(policy_nodes.insert().values(id=node, kind="item", name="旧事项", status="published",
                                                        latest_version=2, updated_at=T0))
        await conn.execute(policy_node_versions.insert(), [
            {"node_id": node, "version": 1, "revision": 1, "author": "zhou.editor", **version_row, "state": "published"},
            {"node_id": node, "version": 2, "revision": 3, "author": "li.editor", **version_row}])
        # the old draft of CD-0001 was published before the current one was opened
        await conn.execute(guide_drafts.insert().values(code="CD-0001", base_version=1, revision=2, author="li.editor",
                                                        document={"code": "CD-0001", "name": "出生登记"},
                                                        created_at=T0, updated_at=T0))
        await conn.execute(audit_log.insert(), [
            saved(T0 - timedelta(days=9), "zhou.editor", "policy.draft.save", "policy_node", node,
                  after={"version": 1, "revision": 1, "author": "zhou.editor"}),
            saved(T0, "wang.admin", "policy.draft.save", "policy_node", node,
                  after={"version": 2, "revision": 1, "author": "wang.admin"}),
            saved(T0, "li.editor", "policy.draft.save", "policy_node", node,
                  after={"version": 2, "revision": 2, "author": "li.editor"}),
            saved(T0, "li.editor", "policy.draft.save", "policy_node", node,
                  after={"version": 2, "revision": 3, "author": "li.editor"}),
            saved(T0 - timedelta(days=9), "zhou.editor", "guide_draft.save", "guide_draft", "CD-0001",
                  details={"revision": 1}),
            saved(T0 + timedelta(seconds=1), "wang.admin", "guide_draft.save", "guide_draft", "CD-0001",
                  details={"revision": 1}),
            saved(T0 + timedelta(seconds=2), "li.editor", "guide_draft.save", "guide_draft", "CD-0001",
                  details={"revision": 2})])

    await migrate.upgrade(old_db)

    authors = sa.column("revision_authors", sa.JSON)
    async with old_db.read() as conn:
        versions = dict((await conn.execute(sa.select(sa.column("version"), authors)
                                            .select_from(sa.table("policy_node_versions")))).all())
        [draft_authors] = (await conn.execute(sa.select(authors).select_from(sa.table("guide_drafts")))).scalars()
    assert versions[1] == [{"revision": 1, "author": "zhou.editor"}]
    assert versions[2] == [{"revision": 1, "author": "wang.admin"}, {"revision": 2, "author": "li.editor"},
                           {"revision": 3, "author": "li.editor"}]
    assert draft_authors == [{"revision": 1, "author": "wang.admin"}, {"revision": 2, "author": "li.editor"}]

    # and the rule holds for the change that was in review across the upgrade
    audit = AuditLog(old_db)
    catalogue = FactCatalogue.load()
    curation = PolicyCuration(old_db, audit, catalogue, PolicyGraph(old_db, catalogue))
    with pytest.raises(CurationError) as own:
        await curation.review("wang.admin", node, approve=True)
    assert own.value.code == "own_change"
    drafts = GuideDrafts(old_db, audit, CatalogService(old_db, audit))
    with pytest.raises(GuideDraftError) as own_draft:
        await drafts.publish("wang.admin", "CD-0001")
    assert own_draft.value.code == "own_change"
