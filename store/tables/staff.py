"""Staff (the console): accounts and signed-in sessions."""

from __future__ import annotations

import sqlalchemy as sa

from store.tables.base import UTCDateTime, metadata

staff_accounts = sa.Table(
    "staff_accounts",
    metadata,
    sa.Column("username", sa.String(32), primary_key=True),
    sa.Column("display_name", sa.String(50), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),  # editor, reviewer, approver, admin
    sa.Column("password_hash", sa.String(200), nullable=False),  # argon2id, salt and parameters included
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("last_login_at", UTCDateTime),
)

# a signed-in staff member: the cookie or bearer token is stored as its SHA-256, with the CSRF
# token its forms must carry
staff_sessions = sa.Table(
    "staff_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(32), nullable=False, index=True),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime),
)
