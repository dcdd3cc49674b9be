"""The policy knowledge graph (政策法规图谱, owned by policy_graph/): nodes and their versions, edges,
condition trees, yearly parameters, enterprise facts, match verdicts, pushes and push opt-outs."""

from __future__ import annotations

import sqlalchemy as sa

from store.tables.base import UTCDateTime, metadata

# a node: policy document, clause, policy item, department, service item, industry, qualification,
# district. Its content lives in versions; published versions are never changed.
policy_nodes = sa.Table(
    "policy_nodes",
    metadata,
    sa.Column("id", sa.String(80), primary_key=True),  # "item:cd-gx-001", "document:…", "qualification:…"
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # draft (never published), published, retired
    sa.Column("published_version", sa.Integer),
    sa.Column("latest_version", sa.Integer, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index("ix_policy_nodes_kind", "kind", "status"),
)

# draft → in_review → approved → published → superseded; in_review → draft when sent back
policy_node_versions = sa.Table(
    "policy_node_versions",
    metadata,
    sa.Column("node_id", sa.String(80), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),  # the kind's attributes (文号, issuer, benefit, window, …)
    sa.Column("edges", sa.JSON, nullable=False),  # outgoing edges as authored: [{"kind", "dst"}]
    sa.Column("valid_from", sa.Date),
    sa.Column("valid_to", sa.Date),
    sa.Column("revision", sa.Integer, nullable=False),  # a draft's edit counter: stale edits are refused
    sa.Column("author", sa.String(64), nullable=False),  # who saved the latest revision
    # who saved each revision, [{"revision", "author"}]: nobody who saved one may review or publish it
    sa.Column("revision_authors", sa.JSON, nullable=False),
    sa.Column("reviewer", sa.String(64)),
    sa.Column("review_comment", sa.String(500)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("published_at", UTCDateTime),
)

# the edges of published versions, for graph queries in both directions
policy_edges = sa.Table(
    "policy_edges",
    metadata,
    sa.Column("src", sa.String(80), primary_key=True),
    sa.Column("kind", sa.String(24), primary_key=True),
    sa.Column("dst", sa.String(80), primary_key=True),
    sa.Index("ix_policy_edges_dst", "dst", "kind"),
)

# an item version's condition tree, one row per node in reading order (parent: a row's position)
policy_conditions = sa.Table(
    "policy_conditions",
    metadata,
    sa.Column("node_id", sa.String(80), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("parent", sa.Integer),
    sa.Column("kind", sa.String(8), nullable=False),  # all, any, not, atom, ref
    sa.Column("fact", sa.String(64)),
    sa.Column("op", sa.String(16)),
    sa.Column("value", sa.JSON),
    sa.Column("param", sa.String(80)),
    sa.Column("ref", sa.String(80)),
    sa.Column("clause", sa.String(80)),
    sa.Column("label", sa.String(200)),
)

# thresholds that change by year (年度参数), each value with its legal basis
policy_parameters = sa.Table(
    "policy_parameters",
    metadata,
    sa.Column("key", sa.String(80), primary_key=True),
    sa.Column("valid_from", sa.Date, primary_key=True),
    sa.Column("valid_to", sa.Date),
    sa.Column("fact_type", sa.String(8), nullable=False),
    sa.Column("value", sa.JSON, nullable=False),
    sa.Column("legal_basis", sa.String(300), nullable=False),
)

# what we know about an enterprise, dated and sourced; a fact that is absent is unknown
enterprise_facts = sa.Table(
    "enterprise_facts",
    metadata,
    sa.Column("uscc", sa.String(18), primary_key=True),
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("as_of", sa.Date, primary_key=True),
    sa.Column("value", sa.JSON, nullable=False),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("authoritative", sa.Boolean, nullable=False),
    sa.Column("loaded_at", UTCDateTime, nullable=False),
)

# the verdict of each enterprise on each published item, with what it was computed from: a pair
# is recomputed only when the item's version or the enterprise's facts change
policy_matches = sa.Table(
    "policy_matches",
    metadata,
    sa.Column("item_id", sa.String(80), primary_key=True),
    sa.Column("uscc", sa.String(18), primary_key=True),
    sa.Column("item_version", sa.Integer, nullable=False),
    sa.Column("facts_hash", sa.String(64), nullable=False),
    sa.Column("verdict", sa.String(8), nullable=False),  # true, false, unknown
    sa.Column("computed_at", UTCDateTime, nullable=False),
    sa.Index("ix_policy_matches_uscc", "uscc", "verdict"),
)

# policy pushes (精准推送): one row per enterprise and item and kind (a push, or a prompt to
# supply facts), so that nothing is pushed to the same enterprise for the same item twice
policy_pushes = sa.Table(
    "policy_pushes",
    metadata,
    sa.Column("uscc", sa.String(18), primary_key=True),
    sa.Column("item_id", sa.String(80), primary_key=True),
    sa.Column("kind", sa.String(8), primary_key=True),  # push, prompt
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("outcome", sa.String(200), nullable=False),  # who was told, and how
)

# users who asked not to be sent policy pushes (they still see matches in the mini-program)
policy_push_optouts = sa.Table(
    "policy_push_optouts",
    metadata,
    sa.Column("user_id", sa.String(32), primary_key=True),
    sa.Column("at", UTCDateTime, nullable=False),
)
