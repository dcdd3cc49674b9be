"""curation: every revision's author

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 15:50:00

Policy versions and guide drafts remember who saved each revision (``revision_authors``), not
only who saved last, so that nobody who saved any revision of a change can approve or publish
it. Existing rows are filled from the audit log, which has recorded every save since the tables
were made: a draft that is in review today keeps the rule too (the latest author alone would let
an earlier author approve after a colleague's re-save). A revision the audit log does not show
(an entry removed by hand) is left out rather than guessed; the latest one always comes from the
row itself.
"""
from typing import Any

from alembic import op
import sqlalchemy as sa
import store.tables.base


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

# the tables as this migration knows them (not store.tables: that describes the newest schema)
audit_log = sa.table('audit_log', sa.column('id', sa.Integer), sa.column('at', store.tables.base.UTCDateTime()),
                     sa.column('actor', sa.String), sa.column('action', sa.String),
                     sa.column('target_type', sa.String), sa.column('target_id', sa.String),
                     sa.column('after', sa.JSON), sa.column('details', sa.JSON))
policy_node_versions = sa.table('policy_node_versions', sa.column('node_id', sa.String),
                                sa.column('version', sa.Integer), sa.column('revision', sa.Integer),
                                sa.column('author', sa.String), sa.column('revision_authors', sa.JSON))
guide_drafts = sa.table('guide_drafts', sa.column('code', sa.String), sa.column('revision', sa.Integer),
                        sa.column('author', sa.String), sa.column('created_at', store.tables.base.UTCDateTime()),
                        sa.column('revision_authors', sa.JSON))


def _listed(by_revision: dict[int, str], revision: int, author: str) -> list[dict[str, Any]]:
    """Revisions up to the row's own, in order; the row's author is the latest one's."""
    by_revision = {n: who for n, who in by_revision.items() if n < revision}
    by_revision[revision] = author
    return [{'revision': n, 'author': by_revision[n]} for n in sorted(by_revision)]


def _fill_policy_versions(conn: sa.Connection) -> None:
    saves: dict[tuple[str, int], dict[int, str]] = {}
    for target_id, actor, after in conn.execute(
            sa.select(audit_log.c.target_id, audit_log.c.actor, audit_log.c.after)
            .where(audit_log.c.action == 'policy.draft.save', audit_log.c.target_type == 'policy_node')
            .order_by(audit_log.c.id)):
        if isinstance(after, dict) and isinstance(after.get('version'), int) and isinstance(after.get('revision'), int):
            saves.setdefault((target_id, after['version']), {})[after['revision']] = actor
    for row in conn.execute(sa.select(policy_node_versions)).all():
        conn.execute(policy_node_versions.update().where(
            policy_node_versions.c.node_id == row.node_id, policy_node_versions.c.version == row.version)
            .values(revision_authors=_listed(saves.get((row.node_id, row.version), {}), row.revision, row.author)))


def _fill_guide_drafts(conn: sa.Connection) -> None:
    for row in conn.execute(sa.select(guide_drafts)).all():
        by_revision: dict[int, str] = {}
        # the saves of this draft: earlier drafts of the same item were published or discarded
        # before it was created
        for actor, details in conn.execute(
                sa.select(audit_log.c.actor, audit_log.c.details)
                .where(audit_log.c.action == 'guide_draft.save', audit_log.c.target_type == 'guide_draft',
                       audit_log.c.target_id == row.code, audit_log.c.at >= row.created_at)
                .order_by(audit_log.c.id)):
            if isinstance(details, dict) and isinstance(details.get('revision'), int):
                by_revision[details['revision']] = actor
        conn.execute(guide_drafts.update().where(guide_drafts.c.code == row.code)
                     .values(revision_authors=_listed(by_revision, row.revision, row.author)))


def upgrade() -> None:
    for table in ('policy_node_versions', 'guide_drafts'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('revision_authors', sa.JSON(), nullable=True))
    conn = op.get_bind()
    _fill_policy_versions(conn)
    _fill_guide_drafts(conn)
    for table in ('policy_node_versions', 'guide_drafts'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('revision_authors', existing_type=sa.JSON(), nullable=False)


def downgrade() -> None:
    for table in ('guide_drafts', 'policy_node_versions'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('revision_authors')
