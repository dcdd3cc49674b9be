"""dialogue sessions, chat turns, demand tickets

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 02:56:43.241323
"""
from alembic import op
import sqlalchemy as sa
import store.tables.base


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('chat_turns',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', store.tables.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('session_key', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('text', sa.String(length=2000), nullable=False),
    sa.Column('intent', sa.String(length=32), nullable=False),
    sa.Column('aspect', sa.String(length=16), nullable=True),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('sources', sa.JSON(), nullable=False),
    sa.Column('reply', sa.Text(), nullable=False),
    sa.Column('no_answer', sa.Boolean(), nullable=False),
    sa.Column('needs_clarification', sa.Boolean(), nullable=False),
    sa.Column('kb_version', sa.Integer(), nullable=False),
    sa.Column('latency_ms', sa.Float(), nullable=False),
    sa.Column('helpful', sa.Boolean(), nullable=True),
    sa.Column('feedback_reason', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_turns'))
    )
    with op.batch_alter_table('chat_turns', schema=None) as batch_op:
        batch_op.create_index('ix_chat_turns_session', ['session_key', 'id'], unique=False)

    op.create_table('demand_tickets',
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('created_at', store.tables.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', store.tables.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('session_key', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('category_confidence', sa.Float(), nullable=False),
    sa.Column('district', sa.String(length=64), nullable=True),
    sa.Column('summary', sa.String(length=200), nullable=False),
    sa.Column('text', sa.String(length=2000), nullable=False),
    sa.Column('contact_consent', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('number', name=op.f('pk_demand_tickets'))
    )
    with op.batch_alter_table('demand_tickets', schema=None) as batch_op:
        batch_op.create_index('ix_demand_tickets_session', ['session_key'], unique=False)

    op.create_table('dialogue_sessions',
    sa.Column('session_key', sa.String(length=200), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('updated_at', store.tables.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', store.tables.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('session_key', name=op.f('pk_dialogue_sessions'))
    )


def downgrade() -> None:
    op.drop_table('dialogue_sessions')
    with op.batch_alter_table('demand_tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_demand_tickets_session')

    op.drop_table('demand_tickets')
    with op.batch_alter_table('chat_turns', schema=None) as batch_op:
        batch_op.drop_index('ix_chat_turns_session')

    op.drop_table('chat_turns')
