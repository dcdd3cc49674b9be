"""Search analytics (owned by assistant/search): one row per query asked."""

from __future__ import annotations

import sqlalchemy as sa

from store.tables.base import UTCDateTime, metadata

# personal data is masked before a query is stored
search_queries = sa.Table(
    "search_queries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("query", sa.String(500), nullable=False),
    sa.Column("normalized", sa.String(200), nullable=False),
    sa.Column("result_count", sa.Integer, nullable=False),
    sa.Column("top_code", sa.String(64)),
    sa.Column("confidence", sa.Float, nullable=False),
    sa.Column("no_good_match", sa.Boolean, nullable=False),
    sa.Column("took_ms", sa.Float, nullable=False),
    sa.Index("ix_search_queries_at", "at"),
)
