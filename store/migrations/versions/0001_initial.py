"""initial schema: outbox, audit log, guide catalog

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 02:16:56.403049
"""
from alembic import op
import sqlalchemy as sa
import store.tables.base


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', store.tables.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target_type', sa.String(length=64), nullable=False),
    sa.Column('target_id', sa.String(length=200), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_target', ['target_type', 'target_id'], unique=False)

    op.create_table('faq_entries',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('question', sa.String(length=500), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('item_codes', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('updated_at', store.tables.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_faq_entries'))
    )
    op.create_table('item_versions',
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('changed_at', store.tables.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('code', 'version', name=op.f('pk_item_versions'))
    )
    op.create_table('kb_meta',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_kb_meta'))
    )
    op.create_table('outbox_jobs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', store.tables.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lease_owner', sa.String(length=100), nullable=True),
    sa.Column('lease_until', store.tables.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', store.tables.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', store.tables.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('done_at', store.tables.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_jobs')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_outbox_jobs_idempotency_key'))
    )
    with op.batch_alter_table('outbox_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_jobs_due', ['status', 'next_attempt_at'], unique=False)

    op.create_table('service_items',
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('department', sa.String(length=200), nullable=False),
    sa.Column('item_type', sa.String(length=32), nullable=False),
    sa.Column('for_person', sa.Boolean(), nullable=False),
    sa.Column('for_legal_person', sa.Boolean(), nullable=False),
    sa.Column('level', sa.String(length=32), nullable=False),
    sa.Column('district', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('updated_at', store.tables.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_service_items'))
    )
    with op.batch_alter_table('service_items', schema=None) as batch_op:
        batch_op.create_index('ix_service_items_department', ['department'], unique=False)

    op.create_table('synonyms',
    sa.Column('colloquial', sa.String(length=100), nullable=False),
    sa.Column('official', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('updated_at', store.tables.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('colloquial', name=op.f('pk_synonyms'))
    )


def downgrade() -> None:
    op.drop_table('synonyms')
    with op.batch_alter_table('service_items', schema=None) as batch_op:
        batch_op.drop_index('ix_service_items_department')

    op.drop_table('service_items')
    with op.batch_alter_table('outbox_jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_jobs_due')

    op.drop_table('outbox_jobs')
    op.drop_table('kb_meta')
    op.drop_table('item_versions')
    op.drop_table('faq_entries')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_target')

    op.drop_table('audit_log')
