"""Curating the policy graph (审核发布): nodes, versions, edges and condition rows in ordinary
tables, edited by staff as drafts, submitted for review, approved by someone else, published.

- A node (policy document, clause, policy item, department, service item, industry,
  qualification, district, or a shared condition that items ``ref``) has numbered versions. The
  first save opens a draft; drafts are edited with their revision number, so a stale edit is
  refused instead of overwriting someone's work.
- draft → in_review (submit) → approved (a reviewer who is not the author) → published. Sending
  back returns the draft with the reviewer's comment. Publishing marks the previous published
  version superseded; a published version is never changed again (edits open a new version).
- A version remembers who saved each of its revisions (``revision_authors``), not only the last
  one: whoever saved any revision may not review or publish it (``own_change``), so a
  colleague's re-save does not launder an author's change into someone else's.
- Every change is audited with before and after, in the transaction of the change.
- Condition trees are checked at save against the fact catalogue, the dated parameters and the
  shared conditions, and refused with the exact path of every problem.

Reading what is published is ``policy_graph.graph.PolicyGraph``; this class is only handed to the
staff console (and the importer), so nothing else can change the graph. It reads the version rows
inside its own transactions with the same helpers the reader uses, so a draft is parsed exactly as
matching will parse it once published. The reader keeps no cache: after a publish there is nothing
to refresh in it, and rematching is the caller's signal (``AppContext.policy_refresh``).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from domain_errors import DomainError
from policy_graph.conditions import InvalidCondition, Node, Parameters, atoms_of, parse
from policy_graph.facts import FACT_TYPES, FactCatalogue
from policy_graph.graph import (
    DELIVERIES,
    EDGE_KINDS,
    ITEM_CATEGORIES,
    NODE_KINDS,
    NodeVersion,
    load_version,
    shared_conditions,
)
from store.audit import AuditLog
from store.database import Database
from store.tables.base import utcnow
from store.tables.policy_graph import (
    policy_conditions,
    policy_edges,
    policy_node_versions,
    policy_nodes,
    policy_parameters,
)


class CurationError(DomainError):
    """A curation step (edit, review, publish, repeal) that cannot be taken as asked."""


class ParameterReader(Protocol):
    """What curation needs from the reading side: the dated parameters a condition tree is checked
    against at save. Narrow on purpose, so curation depends on one reading method and not on the
    whole reader (``PolicyGraph`` satisfies it; a test may pass anything that does)."""

    async def parameters(self) -> Parameters: ...


# --- condition trees as rows ---------------------------------------------------------------------
def tree_to_rows(tree: dict[str, Any]) -> list[dict[str, Any]]:
    """Pre-order rows; each row names its parent's position."""
    rows: list[dict[str, Any]] = []

    def add(node: dict[str, Any], parent: int | None) -> None:
        position = len(rows)
        kind = next(k for k in ("all", "any", "not", "ref", "fact") if k in node)
        row = {"position": position, "parent": parent, "kind": "atom" if kind == "fact" else kind,
               "fact": node.get("fact"), "op": node.get("op"), "value": node.get("value"), "param": node.get("param"),
               "ref": node.get("ref"), "clause": node.get("clause"), "label": node.get("label")}
        rows.append(row)
        for child in node[kind] if kind in ("all", "any") else [node["not"]] if kind == "not" else []:
            add(child, position)

    add(tree, None)
    return rows


class PolicyCuration:
    """The curation state machine over the graph's tables, and the staff views of it (node lists by
    the latest version's state, the review queue, a node's version history with its authors).
    Parameters are read through ``graph`` so a draft is checked against the same dated
    parameters that matching uses."""

    def __init__(self, db: Database, audit: AuditLog, catalogue: FactCatalogue, graph: ParameterReader) -> None:
        self.db = db
        self.audit = audit
        self.catalogue = catalogue
        self.graph = graph

    # --- the staff views: versions, authors, review state --------------------------------------
    async def history(self, node_id: str) -> list[dict[str, Any]]:
        """Every version of a node with its state, everyone who saved a revision of it and its
        reviewer: the console's history, where the own-change rule is seen."""
        async with self.db.read() as conn:
            rows = await conn.execute(sa.select(policy_node_versions).where(
                policy_node_versions.c.node_id == node_id).order_by(policy_node_versions.c.version))
            return [{"version": r.version, "state": r.state, "author": r.author,
                     "authors": list(dict.fromkeys(entry["author"] for entry in r.revision_authors)),
                     "reviewer": r.reviewer, "review_comment": r.review_comment, "updated_at": r.updated_at.isoformat(),
                     "published_at": r.published_at.isoformat() if r.published_at else None} for r in rows]

    async def nodes(self, *, kind: str | None = None, text: str = "", states: tuple[str, ...] = (),
                    offset: int = 0, limit: int = 50) -> tuple[int, list[dict[str, Any]]]:
        """Nodes for the staff lists, newest change first, with their latest version's state:
        by kind, by words in the id or name, by the latest version's state (the review queue asks
        for in_review and approved). Returns the total and one page."""
        latest = policy_node_versions
        query = (sa.select(policy_nodes.c.id, policy_nodes.c.kind, policy_nodes.c.status, policy_nodes.c.updated_at,
                           policy_nodes.c.latest_version, policy_nodes.c.published_version, latest.c.name,
                           latest.c.state, latest.c.author, latest.c.reviewer, latest.c.review_comment)
                 .join(latest, (latest.c.node_id == policy_nodes.c.id) & (latest.c.version == policy_nodes.c.latest_version)))
        if kind:
            query = query.where(policy_nodes.c.kind == kind)
        for word in text.split():
            pattern = f"%{word.replace('%', '').replace('_', '')}%"
            query = query.where(sa.or_(policy_nodes.c.id.like(pattern), latest.c.name.like(pattern)))
        if states:
            query = query.where(latest.c.state.in_(states))
        async with self.db.read() as conn:
            total = (await conn.execute(sa.select(sa.func.count()).select_from(query.subquery()))).scalar() or 0
            rows = await conn.execute(query.order_by(policy_nodes.c.updated_at.desc(), policy_nodes.c.id)
                                      .offset(offset).limit(limit))
            return int(total), [{**row._mapping, "updated_at": row.updated_at.isoformat()} for row in rows]

    # --- curating ------------------------------------------------------------------------------
    async def set_parameter(self, staff: str, key: str, fact_type: str, valid_from: date, value: Any,
                            legal_basis: str, valid_to: date | None = None) -> None:
        if fact_type not in FACT_TYPES or not legal_basis.strip():
            raise CurationError("parameter_invalid", "参数须有类型和法律依据")
        stored = value.isoformat() if isinstance(value, date) else value
        async with self.db.transaction() as conn:
            before = (await conn.execute(sa.select(policy_parameters).where(
                policy_parameters.c.key == key, policy_parameters.c.valid_from == valid_from))).first()
            if before:
                await conn.execute(policy_parameters.delete().where(
                    policy_parameters.c.key == key, policy_parameters.c.valid_from == valid_from))
            row = {"key": key, "valid_from": valid_from, "valid_to": valid_to, "fact_type": fact_type,
                   "value": stored, "legal_basis": legal_basis}
            await conn.execute(policy_parameters.insert().values(**row))
            await self.audit.record(conn, actor=staff, action="policy.parameter.set", target_type="policy_parameter",
                                    target_id=f"{key}@{valid_from}",
                                    before={"value": before.value, "legal_basis": before.legal_basis} if before else None,
                                    after={"value": stored, "legal_basis": legal_basis})

    async def save_draft(self, staff: str, node_id: str, kind: str, name: str, *, data: dict[str, Any] | None = None,
                         edges: list[dict[str, str]] | None = None, condition: dict[str, Any] | None = None,
                         valid_from: date | None = None, valid_to: date | None = None,
                         revision: int | None = None) -> NodeVersion:
        """Create or edit the node's draft. Editing an existing draft needs the revision it was
        read at (``stale_draft`` otherwise); a node with a published version gets a new one."""
        data, edges = dict(data or {}), list(edges or [])
        if kind not in NODE_KINDS:
            raise CurationError("unknown_kind", f"未知的节点类型 {kind}", {"allowed": list(NODE_KINDS)})
        if not name.strip() or len(name) > 200 or not node_id.startswith(f"{kind}:") or len(node_id) > 80:
            raise CurationError("node_invalid", "节点须有名称，编号形如 kind:名称（不超过80字）")
        if valid_from and valid_to and valid_from > valid_to:
            raise CurationError("validity_invalid", "有效期开始晚于结束")
        if kind == "item":
            self._check_item(data, condition)
        now = utcnow()
        parameters = await self.graph.parameters()
        async with self.db.transaction() as conn:
            await self._check_edges(conn, kind, edges)
            if condition is not None:
                shared = await shared_conditions(conn, (node_id, condition) if kind == "condition" else None)
                try:
                    tree = parse(condition, self.catalogue, parameters, shared)
                except InvalidCondition as exc:
                    raise CurationError("condition_invalid", "申请条件有误", [p.to_json() for p in exc.problems]) from None
                if kind == "item" and data.get("delivery") == "免申即享":
                    self._check_automatic(tree)
            node = (await conn.execute(sa.select(policy_nodes).where(policy_nodes.c.id == node_id))).first()
            if node is not None and node.kind != kind:
                raise CurationError("kind_mismatch", f"{node_id} 是 {node.kind}")
            latest = await load_version(conn, node_id, node.latest_version) if node else None
            fields = {"name": name, "data": data, "edges": edges, "valid_from": valid_from, "valid_to": valid_to,
                      "updated_at": now}
            if latest is not None and latest.state in ("draft", "in_review", "approved"):
                if latest.state != "draft":
                    raise CurationError("under_review", "该版本正在审核中，退回后才能修改")
                if revision != latest.revision:
                    raise CurationError("stale_draft", "草稿已被他人修改，请刷新后再改",
                                        {"current_revision": latest.revision})
                version = latest.version
                # only over the revision that was read: two saves at once cannot both add their
                # author to the same list (one of them would drop out of the record)
                written = await conn.execute(policy_node_versions.update().where(
                    policy_node_versions.c.node_id == node_id, policy_node_versions.c.version == version,
                    policy_node_versions.c.revision == latest.revision)
                    .values(**fields, revision=latest.revision + 1, author=staff,
                            revision_authors=[*latest.revision_authors,
                                              {"revision": latest.revision + 1, "author": staff}]))
                if written.rowcount != 1:
                    raise CurationError("stale_draft", "草稿已被他人修改，请刷新后再改")
                await conn.execute(policy_conditions.delete().where(
                    policy_conditions.c.node_id == node_id, policy_conditions.c.version == version))
            else:
                version = (node.latest_version + 1) if node else 1
                await conn.execute(policy_node_versions.insert().values(
                    node_id=node_id, version=version, state="draft", revision=1, author=staff,
                    revision_authors=[{"revision": 1, "author": staff}], created_at=now, **fields))
                if node is None:
                    await conn.execute(policy_nodes.insert().values(id=node_id, kind=kind, name=name, status="draft",
                                                                    latest_version=1, updated_at=now))
                else:
                    await conn.execute(policy_nodes.update().where(policy_nodes.c.id == node_id)
                                       .values(latest_version=version, updated_at=now))
            if condition is not None:
                await conn.execute(policy_conditions.insert(), [
                    {"node_id": node_id, "version": version, **row} for row in tree_to_rows(condition)])
            saved = await load_version(conn, node_id, version)
            await self.audit.record(conn, actor=staff, action="policy.draft.save", target_type="policy_node",
                                    target_id=node_id, before=latest.to_json() if latest else None,
                                    after=saved.to_json() if saved else None)
        assert saved is not None
        return saved

    def _check_item(self, data: dict[str, Any], condition: dict[str, Any] | None) -> None:
        problems = []
        if data.get("category") not in ITEM_CATEGORIES:
            problems.append({"path": "data.category", "message": f"one of {', '.join(ITEM_CATEGORIES)}"})
        if data.get("delivery") not in DELIVERIES:
            problems.append({"path": "data.delivery", "message": f"one of {', '.join(DELIVERIES)}"})
        if not str(data.get("benefit", "")).strip():
            problems.append({"path": "data.benefit", "message": "the benefit in words (奖励标准)"})
        if condition is None:
            problems.append({"path": "condition", "message": "a policy item needs its conditions"})
        if problems:
            raise CurationError("item_invalid", "政策事项不完整", problems)

    def _check_automatic(self, tree: Node) -> None:
        """免申即享 is granted without an application: only facts from authoritative sources may decide it."""
        declared = sorted({a.fact for a in atoms_of(tree) if not self.catalogue[a.fact].authoritative})
        if declared:
            raise CurationError("automatic_needs_authoritative", "免申即享事项只能使用权威来源的数据作条件",
                                [{"path": "condition", "message": f"{key}（{self.catalogue[key].label}）来自"
                                  f"{self.catalogue[key].source}，不是权威来源"} for key in declared])

    async def _check_edges(self, conn: AsyncConnection, kind: str, edges: list[dict[str, str]]) -> None:
        problems = []
        for n, edge in enumerate(edges):
            expected = EDGE_KINDS.get(edge.get("kind", ""))
            if expected is None or expected[0] != kind:
                problems.append({"path": f"edges[{n}].kind", "message": f"a {kind} has no {edge.get('kind')!r} edge"})
                continue
            target = (await conn.execute(sa.select(policy_nodes.c.kind).where(
                policy_nodes.c.id == edge.get("dst", "")))).scalar()
            if target != expected[1]:
                problems.append({"path": f"edges[{n}].dst", "message": f"no {expected[1]} {edge.get('dst')!r}"})
        if problems:
            raise CurationError("edges_invalid", "关联关系有误", problems)

    async def _move(self, staff: str, node_id: str, action: str, allowed: tuple[str, ...], state: str,
                    extra: dict[str, Any] | None = None) -> NodeVersion:
        async with self.db.transaction() as conn:
            node = (await conn.execute(sa.select(policy_nodes).where(policy_nodes.c.id == node_id))).first()
            if node is None:
                raise CurationError("node_not_found", f"没有 {node_id}")
            latest = await load_version(conn, node_id, node.latest_version)
            assert latest is not None
            if latest.state not in allowed:
                raise CurationError(f"not_{allowed[0]}", f"当前版本状态为 {latest.state}，不能{action}",
                                    {"state": latest.state})
            if action in ("审核通过", "退回", "发布") and latest.authored_by(staff):
                # any revision counts, not only the last: otherwise an author could approve their
                # own change once a colleague had re-saved it, even unchanged
                step = "发布" if action == "发布" else "审核"
                raise CurationError("own_change", f"您保存过这一版本，不能{step}自己参与的修改，请由其他人员{step}",
                                    {"authors": latest.authors})
            now = utcnow()
            values = {"state": state, "updated_at": now, **(extra or {})}
            if action in ("审核通过", "退回"):
                values["reviewer"] = staff
            # only the revision whose authors were checked: one saved meanwhile is not moved unseen
            moved = await conn.execute(policy_node_versions.update().where(
                policy_node_versions.c.node_id == node_id, policy_node_versions.c.version == latest.version,
                policy_node_versions.c.state == latest.state, policy_node_versions.c.revision == latest.revision)
                .values(**values))
            if moved.rowcount != 1:
                raise CurationError("changed_meanwhile", "该版本刚被他人改动，请刷新后再操作")
            if state == "published":
                await self._publish(conn, node, latest, now)
            after = await load_version(conn, node_id, latest.version)
            await self.audit.record(conn, actor=staff, action=f"policy.{state}", target_type="policy_node",
                                    target_id=node_id, before=latest.to_json(), after=after.to_json() if after else None)
        assert after is not None
        return after

    async def _publish(self, conn: AsyncConnection, node: Any, version: NodeVersion, now: Any) -> None:
        if node.published_version:
            await conn.execute(policy_node_versions.update().where(
                policy_node_versions.c.node_id == node.id, policy_node_versions.c.version == node.published_version)
                .values(state="superseded", updated_at=now))
        await conn.execute(policy_node_versions.update().where(
            policy_node_versions.c.node_id == node.id, policy_node_versions.c.version == version.version)
            .values(published_at=now))
        await conn.execute(policy_nodes.update().where(policy_nodes.c.id == node.id).values(
            status="published", published_version=version.version, name=version.name, updated_at=now))
        await conn.execute(policy_edges.delete().where(policy_edges.c.src == node.id))
        if version.edges:
            await conn.execute(policy_edges.insert(), [
                {"src": node.id, "kind": e["kind"], "dst": e["dst"]} for e in
                {(e["kind"], e["dst"]): e for e in version.edges}.values()])

    async def submit(self, staff: str, node_id: str) -> NodeVersion:
        return await self._move(staff, node_id, "提交审核", ("draft",), "in_review")

    async def review(self, staff: str, node_id: str, *, approve: bool, comment: str = "") -> NodeVersion:
        if not approve and not comment.strip():
            raise CurationError("comment_required", "退回时请写明原因")
        return await self._move(staff, node_id, "审核通过" if approve else "退回", ("in_review",),
                                "approved" if approve else "draft", {"review_comment": comment[:500] or None})

    async def publish(self, staff: str, node_id: str) -> NodeVersion:
        return await self._move(staff, node_id, "发布", ("approved",), "published")

    async def retire(self, staff: str, node_id: str) -> None:
        async with self.db.transaction() as conn:
            node = (await conn.execute(sa.select(policy_nodes).where(policy_nodes.c.id == node_id))).first()
            if node is None or node.status != "published":
                raise CurationError("not_published", "只有已发布的节点可以废止")
            await conn.execute(policy_nodes.update().where(policy_nodes.c.id == node_id)
                               .values(status="retired", updated_at=utcnow()))
            await conn.execute(policy_edges.delete().where(policy_edges.c.src == node_id))
            await self.audit.record(conn, actor=staff, action="policy.retired", target_type="policy_node",
                                    target_id=node_id, before={"status": node.status}, after={"status": "retired"})
