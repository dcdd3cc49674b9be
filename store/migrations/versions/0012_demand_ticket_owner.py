"""12345 tickets: who filed them, and numbers nobody can guess

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 15:50:00
"""
from alembic import op
import sqlalchemy as sa
import store.tables.base


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the signed-in filer; older tickets have none and stay visible to the session that filed them.
    # Ticket numbers get longer (16 random digits) in the code; the column (32) already fits them.
    with op.batch_alter_table('demand_tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.String(length=32), nullable=True))
        batch_op.create_index('ix_demand_tickets_user', ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('demand_tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_demand_tickets_user')
        batch_op.drop_column('user_id')
