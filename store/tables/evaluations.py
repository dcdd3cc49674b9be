"""The mini-program's own records (owned by miniapp_api/ services): good/bad evaluations and the
follow-up tasks a bad one opens."""

from __future__ import annotations

import sqlalchemy as sa

from store.tables.base import UTCDateTime, metadata

# good/bad evaluations (好差评) of an application or of an assistant answer
evaluations = sa.Table(
    "evaluations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.String(32), nullable=False),
    sa.Column("target_type", sa.String(16), nullable=False),  # application, answer
    sa.Column("target_id", sa.String(32), nullable=False),
    sa.Column("item_code", sa.String(64)),
    sa.Column("department", sa.String(200)),
    sa.Column("stars", sa.Integer, nullable=False),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("comment", sa.String(500)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("user_id", "target_type", "target_id", name="uq_evaluations_once"),
    sa.Index("ix_evaluations_item", "item_code", "created_at"),
)

# a bad rating opens a follow-up task (差评整改) that staff must answer by its deadline
followup_tasks = sa.Table(
    "followup_tasks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("evaluation_id", sa.Integer, nullable=False, unique=True),
    sa.Column("status", sa.String(16), nullable=False),  # open → answered
    sa.Column("due_at", UTCDateTime, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("reply", sa.String(1000)),
    sa.Column("answered_at", UTCDateTime),
)
