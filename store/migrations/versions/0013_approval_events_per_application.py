"""approval events: ids unique per application

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 15:50:00
"""
from alembic import op
import sqlalchemy as sa
import store.tables.base


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # An approval back end that numbers its events per application sends event "1" for A and for B;
    # unique across all applications, B's report was taken for a resend and lost. The event id now
    # names an event within its application. 0005 named the old constraint explicitly (op.f), so the
    # same name is dropped on PostgreSQL; on SQLite batch mode rebuilds the table without it.
    with op.batch_alter_table('application_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_application_events_event_id'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_application_events_number_event_id'),
                                          ['number', 'event_id'])


def downgrade() -> None:
    # fails if two applications already share an event id: that is exactly what 0013 allows, and
    # dropping one of them silently would lose a citizen's status change
    with op.batch_alter_table('application_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_application_events_number_event_id'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_application_events_event_id'), ['event_id'])
