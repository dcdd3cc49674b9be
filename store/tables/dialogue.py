"""The assistant's dialogue (owned by assistant/dialogue): sessions, every turn, and the 12345
demand tickets the assistant takes in."""

from __future__ import annotations

import sqlalchemy as sa

from store.tables.base import UTCDateTime, metadata

# one row per user and channel; expired rows are treated as absent and overwritten
dialogue_sessions = sa.Table(
    "dialogue_sessions",
    metadata,
    sa.Column("session_key", sa.String(200), primary_key=True),  # "<channel>:<user or session id>"
    sa.Column("state", sa.JSON, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
)

# every turn, text masked, with what the answer was built from (for staff and analytics)
chat_turns = sa.Table(
    "chat_turns",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("session_key", sa.String(200), nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("text", sa.String(2000), nullable=False),
    sa.Column("intent", sa.String(32), nullable=False),
    sa.Column("aspect", sa.String(16)),
    sa.Column("confidence", sa.Float, nullable=False),
    sa.Column("sources", sa.JSON, nullable=False),
    sa.Column("reply", sa.Text, nullable=False),
    sa.Column("no_answer", sa.Boolean, nullable=False),
    sa.Column("needs_clarification", sa.Boolean, nullable=False),
    sa.Column("kb_version", sa.Integer, nullable=False),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("helpful", sa.Boolean),  # the user's feedback, when given
    sa.Column("feedback_reason", sa.String(500)),
    sa.Index("ix_chat_turns_session", "session_key", "id"),
)

# 12345 demand tickets (诉求工单) taken in by the assistant
demand_tickets = sa.Table(
    "demand_tickets",
    metadata,
    sa.Column("number", sa.String(32), primary_key=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("session_key", sa.String(200), nullable=False),
    # the signed-in user who filed it (None when not signed in): they, and the session that filed
    # it, are the only citizens who may ask about it
    sa.Column("user_id", sa.String(32)),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("category", sa.String(32), nullable=False),
    sa.Column("category_confidence", sa.Float, nullable=False),
    sa.Column("district", sa.String(64)),
    sa.Column("summary", sa.String(200), nullable=False),
    sa.Column("text", sa.String(2000), nullable=False),  # masked
    sa.Column("contact_consent", sa.Boolean, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # received → assigned → replied → closed
    sa.Column("reply", sa.String(500)),  # the department's answer, shown to the citizen once replied
    sa.Index("ix_demand_tickets_session", "session_key"),
    sa.Index("ix_demand_tickets_user", "user_id"),
)
