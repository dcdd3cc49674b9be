"""search query log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 02:32:43.723576
"""
from alembic import op
import sqlalchemy as sa
import store.tables.base


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('search_queries',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', store.tables.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('query', sa.String(length=500), nullable=False),
    sa.Column('normalized', sa.String(length=200), nullable=False),
    sa.Column('result_count', sa.Integer(), nullable=False),
    sa.Column('top_code', sa.String(length=64), nullable=True),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('no_good_match', sa.Boolean(), nullable=False),
    sa.Column('took_ms', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_queries'))
    )
    with op.batch_alter_table('search_queries', schema=None) as batch_op:
        batch_op.create_index('ix_search_queries_at', ['at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('search_queries', schema=None) as batch_op:
        batch_op.drop_index('ix_search_queries_at')

    op.drop_table('search_queries')
