"""Staff's editorial work in the console: guides being edited, and unanswered questions dealt with."""

from __future__ import annotations

import sqlalchemy as sa

from store.tables.base import UTCDateTime, metadata

# a guide being edited in the console (办事指南草稿): the whole item as the editor left it, based on
# the catalog version it was opened at, published into service_items by a reviewer
guide_drafts = sa.Table(
    "guide_drafts",
    metadata,
    sa.Column("code", sa.String(64), primary_key=True),
    sa.Column("base_version", sa.Integer),  # None: a new item
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("author", sa.String(32), nullable=False),  # who saved the latest revision
    # who saved each revision, [{"revision", "author"}]: nobody who saved one may publish the draft
    sa.Column("revision_authors", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# unanswered questions staff have dealt with (turned into an FAQ or a synonym, or set aside), by
# the hash of their normalised text, so that they leave the unanswered list
unanswered_handled = sa.Table(
    "unanswered_handled",
    metadata,
    sa.Column("text_hash", sa.String(64), primary_key=True),
    sa.Column("outcome", sa.String(16), nullable=False),  # faq, synonym, dismissed
    sa.Column("target", sa.String(200)),  # the FAQ id or the synonym created
    sa.Column("actor", sa.String(32), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
)
