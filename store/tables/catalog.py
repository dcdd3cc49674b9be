"""The guide catalog (owned by assistant/): service items and their versions, FAQs, synonyms and
the knowledge-base counters."""

from __future__ import annotations

import sqlalchemy as sa

from store.tables.base import UTCDateTime, metadata

service_items = sa.Table(
    "service_items",
    metadata,
    sa.Column("code", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("department", sa.String(200), nullable=False, default=""),
    sa.Column("item_type", sa.String(32), nullable=False, default=""),
    # audience is a list in the model; two flags here so that filtering is plain SQL
    sa.Column("for_person", sa.Boolean, nullable=False, default=False),
    sa.Column("for_legal_person", sa.Boolean, nullable=False, default=False),
    sa.Column("level", sa.String(32), nullable=False, default=""),
    sa.Column("district", sa.String(64), nullable=False, default=""),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, default="active"),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    # the whole guide as the ServiceItem model dumps it
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index("ix_service_items_department", "department"),
)

item_versions = sa.Table(
    "item_versions",
    metadata,
    sa.Column("code", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("changed_at", UTCDateTime, nullable=False),
)

faq_entries = sa.Table(
    "faq_entries",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("question", sa.String(500), nullable=False),
    sa.Column("answer", sa.Text, nullable=False),
    sa.Column("item_codes", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, default="active"),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

synonyms = sa.Table(
    "synonyms",
    metadata,
    sa.Column("colloquial", sa.String(100), primary_key=True),
    sa.Column("official", sa.String(100), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, default="active"),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# one row per counter; "kb_version" is bumped whenever published knowledge changes
kb_meta = sa.Table(
    "kb_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Integer, nullable=False),
)
