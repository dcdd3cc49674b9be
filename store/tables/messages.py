"""What the mini-program tells a user (owned by smartform/): the message centre and subscribe-message
consents."""

from __future__ import annotations

import sqlalchemy as sa

from store.tables.base import UTCDateTime, metadata

# the user's message centre (消息中心)
user_messages = sa.Table(
    "user_messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("title", sa.String(100), nullable=False),
    sa.Column("body", sa.String(1000), nullable=False),
    sa.Column("ref", sa.String(64)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("read_at", UTCDateTime),
    sa.Index("ix_user_messages_user", "user_id", "id"),
)

# subscribe-message consents (订阅消息): one-time ones are used up one message each
subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.String(32), nullable=False),
    sa.Column("template_id", sa.String(64), nullable=False),
    sa.Column("scene", sa.String(32), nullable=False),  # application_status, policy_match, …
    sa.Column("long_term", sa.Boolean, nullable=False),
    sa.Column("remaining", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_subscriptions_user_scene", "user_id", "scene"),
)
