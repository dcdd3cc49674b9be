"""Reading the policy knowledge graph (政策法规图谱): nodes, their numbered versions, edges,
condition trees and dated parameters as they stand in ordinary tables, for matching, the advisor,
push, the mini-program and the console's pages. Nothing here writes.

Changing the graph (drafts, review, publishing, retiring, parameters: the 审核发布 state machine)
lives in ``policy_graph.curation``. The two are split because most of the application only ever
reads what has been published and should not be handed the means to publish; the curation side
reads through the same helpers here (``load_version``, ``shared_conditions``) so that a draft is
checked against exactly what matching will later parse.

This module also holds the graph's vocabulary (node and edge kinds, item categories, deliveries)
and ``NodeVersion``, which both sides and the HTTP layers share.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from policy_graph.conditions import InvalidCondition, Node, Parameters, parse
from policy_graph.facts import FactCatalogue
from store.database import Database
from store.tables.policy_graph import (
    policy_conditions,
    policy_edges,
    policy_node_versions,
    policy_nodes,
    policy_parameters,
)

NODE_KINDS = ("document", "clause", "item", "department", "service_item", "industry", "qualification", "district",
              "condition")
EDGE_KINDS = {  # kind → (source kind, destination kind)
    "issued_by": ("document", "department"), "has_clause": ("document", "clause"),
    "implements": ("item", "clause"), "targets_industry": ("item", "industry"),
    "targets_qualification": ("item", "qualification"), "targets_district": ("item", "district"),
    "handled_via": ("item", "service_item"), "handled_by": ("item", "department"),
    "supersedes": ("document", "document"), "amends": ("document", "document"),
    "exclusive_with": ("item", "item"),
}
ITEM_CATEGORIES = ("减免", "奖补", "权益", "资质")
DELIVERIES = ("免申即享", "快申快享", "申报")


@dataclass
class NodeVersion:
    node_id: str
    kind: str
    version: int
    state: str
    name: str
    data: dict[str, Any]
    edges: list[dict[str, str]]
    condition: dict[str, Any] | None
    valid_from: date | None
    valid_to: date | None
    revision: int
    author: str  # who saved the latest revision
    reviewer: str | None
    review_comment: str | None
    # [{"revision", "author"}] for every revision of this version (empty only for one built by hand)
    revision_authors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def authors(self) -> list[str]:
        """Everyone who saved a revision of this version, in the order they first did."""
        return list(dict.fromkeys(entry["author"] for entry in self.revision_authors))

    def authored_by(self, staff: str) -> bool:
        return staff in self.authors

    def to_json(self) -> dict[str, Any]:
        return {"id": self.node_id, "kind": self.kind, "version": self.version, "state": self.state,
                "name": self.name, "data": self.data, "edges": self.edges, "condition": self.condition,
                "valid_from": self.valid_from.isoformat() if self.valid_from else None,
                "valid_to": self.valid_to.isoformat() if self.valid_to else None, "revision": self.revision,
                "author": self.author, "reviewer": self.reviewer, "review_comment": self.review_comment,
                "revision_authors": self.revision_authors}

    def in_force(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)


# --- condition trees as rows (written by policy_graph.curation.tree_to_rows) ---------------------
def rows_to_tree(rows: list[Any]) -> dict[str, Any]:
    """The JSON tree back from its rows. Rows whose parents loop (never written by us, but a
    table can be edited by hand) are refused."""
    by_position = {row.position: row for row in rows}
    children: dict[int | None, list[Any]] = {}
    for row in sorted(rows, key=lambda r: r.position):
        children.setdefault(row.parent, []).append(row)
    for row in rows:  # every chain of parents must reach the root
        seen, at = set(), row
        while at.parent is not None:
            if at.position in seen or at.parent not in by_position:
                raise InvalidCondition([])
            seen.add(at.position)
            at = by_position[at.parent]

    def build(row: Any) -> dict[str, Any]:
        if row.kind == "atom":
            node = {"fact": row.fact, "op": row.op}
            node.update({"param": row.param} if row.param else {"value": row.value})
            node.update({k: getattr(row, k) for k in ("clause", "label") if getattr(row, k)})
            return node
        if row.kind == "ref":
            return {"ref": row.ref}
        kids = [build(child) for child in children.get(row.position, [])]
        node = {"not": kids[0]} if row.kind == "not" else {row.kind: kids}
        return {**node, **({"label": row.label} if row.label else {})}

    [root] = children[None]
    return build(root)


# --- reading helpers inside a caller's connection (the curation side uses them in its transactions)
async def load_version(conn: AsyncConnection, node_id: str, version: int) -> NodeVersion | None:
    """One version of a node with its condition tree, or None."""
    row = (await conn.execute(sa.select(policy_node_versions, policy_nodes.c.kind).join(
        policy_nodes, policy_nodes.c.id == policy_node_versions.c.node_id).where(
        policy_node_versions.c.node_id == node_id, policy_node_versions.c.version == version))).first()
    if row is None:
        return None
    rows = (await conn.execute(sa.select(policy_conditions).where(
        policy_conditions.c.node_id == node_id, policy_conditions.c.version == version))).all()
    return NodeVersion(node_id, row.kind, row.version, row.state, row.name, row.data, row.edges,
                       rows_to_tree(list(rows)) if rows else None, row.valid_from, row.valid_to, row.revision,
                       row.author, row.reviewer, row.review_comment, list(row.revision_authors))


async def shared_conditions(conn: AsyncConnection, also: tuple[str, dict[str, Any]] | None) -> dict[str, Any]:
    """Condition nodes a ``ref`` may name: their latest versions (a shared condition and the
    items using it are often written together), plus the one being saved."""
    shared: dict[str, Any] = {}
    nodes = await conn.execute(sa.select(policy_nodes.c.id, policy_nodes.c.latest_version).where(
        policy_nodes.c.kind == "condition"))
    for node_id, version in nodes.all():
        loaded = await load_version(conn, node_id, version)
        if loaded and loaded.condition:
            shared[node_id] = loaded.condition
    if also:
        shared[also[0]] = also[1]
    return shared


class PolicyGraph:
    """The graph as read: versions, published items and their parsed conditions, edges, parameters.
    Read-only by design (no audit log, no transactions), so the services that only match, advise
    or push cannot change the graph; ``policy_graph.curation.PolicyCuration`` does that."""

    def __init__(self, db: Database, catalogue: FactCatalogue) -> None:
        self.db = db
        self.catalogue = catalogue

    async def get(self, node_id: str, version: int | None = None, *, published: bool = False) -> NodeVersion | None:
        """A version: the one asked for, the published one, or (default) the latest."""
        async with self.db.read() as conn:
            node = (await conn.execute(sa.select(policy_nodes).where(policy_nodes.c.id == node_id))).first()
            if node is None:
                return None
            wanted = version or (node.published_version if published else node.latest_version)
            return await load_version(conn, node_id, wanted) if wanted else None

    async def published_ids(self, kind: str) -> list[str]:
        async with self.db.read() as conn:
            return list((await conn.execute(sa.select(policy_nodes.c.id).where(
                policy_nodes.c.kind == kind, policy_nodes.c.status == "published").order_by(policy_nodes.c.id))).scalars())

    async def code_names(self) -> dict[str, str]:
        """Names of the published district and industry nodes by id, for conditions in words."""
        async with self.db.read() as conn:
            rows = await conn.execute(sa.select(policy_nodes.c.id, policy_nodes.c.name).where(
                policy_nodes.c.kind.in_(("district", "industry")), policy_nodes.c.status == "published"))
            return {r.id: r.name for r in rows}

    async def node_count(self) -> int:
        async with self.db.read() as conn:
            return int((await conn.execute(sa.select(sa.func.count()).select_from(policy_nodes))).scalar() or 0)

    async def parameters(self) -> Parameters:
        parameters = Parameters()
        async with self.db.read() as conn:
            for row in await conn.execute(sa.select(policy_parameters)):
                value = date.fromisoformat(row.value) if row.fact_type == "date" else row.value
                parameters.add(row.key, row.fact_type, row.valid_from, value, row.legal_basis, row.valid_to)
        return parameters

    async def parse_condition(self, condition: dict[str, Any]) -> Node:
        """A stored condition tree (a draft's too) parsed against today's catalogue, parameters
        and shared conditions, for showing it in words."""
        parameters = await self.parameters()
        async with self.db.read() as conn:
            return parse(condition, self.catalogue, parameters, await shared_conditions(conn, None))

    async def published_items(self, day: date) -> dict[str, tuple[NodeVersion, Node]]:
        """Published policy items in force on ``day``, with their parsed conditions."""
        parameters = await self.parameters()
        async with self.db.read() as conn:
            nodes = (await conn.execute(sa.select(policy_nodes.c.id, policy_nodes.c.published_version).where(
                policy_nodes.c.kind == "item", policy_nodes.c.status == "published"))).all()
            shared = await shared_conditions(conn, None)
            items = {}
            for node_id, version in nodes:
                loaded = await load_version(conn, node_id, version)
                if loaded and loaded.condition and loaded.in_force(day):
                    items[node_id] = (loaded, parse(loaded.condition, self.catalogue, parameters, shared))
        return items

    async def find_items(self, day: date, *, text: str = "", category: str | None = None,
                         industry: str | None = None) -> list[tuple[NodeVersion, Node]]:
        """Published items in force on ``day``: by words in the name or benefit, by category, and
        by targeted industry (an item targeting C matches C34; one targeting no industry matches all)."""
        items = await self.published_items(day)
        async with self.db.read() as conn:
            targets: dict[str, list[str]] = {}
            for src, dst in await conn.execute(sa.select(policy_edges.c.src, policy_edges.c.dst).where(
                    policy_edges.c.kind == "targets_industry")):
                targets.setdefault(src, []).append(dst.removeprefix("industry:"))
        found = []
        for item_id in sorted(items):
            version, tree = items[item_id]
            words = f"{version.name} {version.data.get('benefit', '')}"
            if text and not all(part in words for part in text.split()):
                continue
            if category and version.data.get("category") != category:
                continue
            if industry and item_id in targets and not any(industry.upper().startswith(t) for t in targets[item_id]):
                continue
            found.append((version, tree))
        return found

    async def neighbours(self, node_id: str) -> list[dict[str, str]]:
        """The published edges from and to a node, with the other end's kind and name."""
        async with self.db.read() as conn:
            rows = await conn.execute(sa.select(policy_edges.c.src, policy_edges.c.kind, policy_edges.c.dst,
                                                policy_nodes.c.kind.label("other_kind"), policy_nodes.c.name)
                                      .join(policy_nodes, policy_nodes.c.id == sa.case(
                                          (policy_edges.c.src == node_id, policy_edges.c.dst), else_=policy_edges.c.src))
                                      .where(sa.or_(policy_edges.c.src == node_id, policy_edges.c.dst == node_id),
                                             policy_nodes.c.status == "published"))
            return [{"direction": "out" if r.src == node_id else "in", "kind": r.kind,
                     "id": r.dst if r.src == node_id else r.src, "node_kind": r.other_kind, "name": r.name}
                    for r in rows]
