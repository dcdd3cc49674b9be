"""curation: every revision's author

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 15:50:00
"""
from alembic import op
import sqlalchemy as sa
import store.tables


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
