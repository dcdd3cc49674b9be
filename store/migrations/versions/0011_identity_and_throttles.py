"""identity from the identity platform, enterprise grants, atomic throttles

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 15:50:00
"""
from alembic import op
import sqlalchemy as sa
import store.tables


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
