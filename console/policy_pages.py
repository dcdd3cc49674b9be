"""The console's policy-graph pages (政策图谱): lists of documents, clauses and items; a node's
page with its conditions in words, its neighbourhood drawn as SVG, its history, the review
actions its state allows and, for an item, the matching enterprises and the 免申即享 export; the
editor, whose condition tree is built with the fact catalogue; and the review queue.

The editor posts an ordinary form: the node's fields, its relations as rows, and the condition
tree as JSON (``console.js`` edits that JSON through a tree of selects; without script it is a
text box). A refusal re-renders the form with what was typed and says what to fix; a stale
revision says someone else saved first and overwrites nothing.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from china_time import today
from console.auth import staff_member
from console.svg import EDGE_NAMES, KIND_NAMES, neighbourhood
from console.web import done, form_value, form_values, render
from policy_graph.conditions import OPERATORS, InvalidCondition
from policy_graph.curation import CurationError
from policy_graph.engine import conditions_in_words
from policy_graph.graph import DELIVERIES, EDGE_KINDS, ITEM_CATEGORIES, NODE_KINDS, NodeVersion
from web.bodies import MAX_JSON_DEPTH, JsonTooDeep, load_json
from web.errors import ApiError, status_of

bp = Blueprint("console_policy", url_prefix="/console/policy")
NODE_ID = r"<node_id:[a-z_]{3,20}:[^/]{1,70}>"

# the fields of each kind's ``data``, as the editor shows them: (key, label, input, choices)
FIELDS: dict[str, list[tuple[str, str, str, tuple[str, ...]]]] = {
    "document": [("number", "文号", "text", ()), ("issuer", "发文机关", "text", ()),
                 ("level", "层级", "select", ("国家级", "省级", "市级", "区县级")), ("issued_on", "发文日期", "date", ()),
                 ("status", "效力状态", "select", ("有效", "已修订", "已废止"))],
    "clause": [("summary", "条款要点（用我们自己的话概括）", "textarea", ())],
    "item": [("category", "类别", "select", ITEM_CATEGORIES), ("delivery", "兑现方式", "select", DELIVERIES),
             ("benefit", "支持内容（奖励标准）", "textarea", ()), ("materials", "申请材料（每行一项）", "lines", ()),
             ("amount", "金额规则（JSON，如 {\"max_yuan\": 500000}）", "json", ()),
             ("window", "申报时间（JSON，如 {\"from\": \"2026-05-01\", \"to\": \"2026-06-30\"}）", "json", ())],
    "district": [("code", "行政区划代码", "text", ())],
    "department": [], "service_item": [], "industry": [], "qualification": [], "condition": [],
}
LIST_KINDS = ("item", "document", "clause", "condition", "department", "service_item", "qualification", "industry",
              "district")


# --- lists -------------------------------------------------------------------------------------
@bp.get("/")
async def nodes(request: Request) -> HTTPResponse:
    await staff_member(request, "policy.view")
    kind = request.args.get("kind", "item")
    kind = kind if kind in NODE_KINDS else "item"
    text = request.args.get("q", "")[:50]
    page = max(1, min(int(request.args.get("page", "1")) if request.args.get("page", "1").isdigit() else 1, 1000))
    total, rows = await request.app.ctx.policy_curation.nodes(kind=kind, text=text, offset=(page - 1) * 30, limit=30)
    return render(request, "policy/nodes.html", rows=rows, total=total, kind=kind, q=text, page=page,
                  pages=max(1, -(-total // 30)), kinds=LIST_KINDS, KIND_NAMES=KIND_NAMES)


@bp.get("/review")
async def review_queue(request: Request) -> HTTPResponse:
    await staff_member(request, "policy.view")
    _, rows = await request.app.ctx.policy_curation.nodes(states=("in_review", "approved"), limit=200)
    return render(request, "policy/review.html", rows=rows, KIND_NAMES=KIND_NAMES)


# --- one node ----------------------------------------------------------------------------------
@bp.get(f"/nodes/{NODE_ID}")
async def node(request: Request, node_id: str) -> HTTPResponse:
    session = await staff_member(request, "policy.view")
    ctx = request.app.ctx
    graph = ctx.policy_graph
    latest = await graph.get(node_id)
    if latest is None:
        raise ApiError(404, "node_not_found", f"没有 {node_id}")
    published = await graph.get(node_id, published=True)
    shown = published or latest
    links = await graph.neighbours(node_id)
    matches = None
    if latest.kind == "item" and published is not None and shown.in_force(today()):
        matches = await ctx.matches.for_item(node_id, today(), sample=5)
    return render(request, "policy/node.html", latest=latest, published=published,
                  words=await _in_words(request, latest), history=await ctx.policy_curation.history(node_id),
                  picture=neighbourhood(shown.name, shown.kind, links), links=links, matches=matches,
                  audit=await ctx.audit.entries(target_type="policy_node", target_id=node_id, limit=20),
                  own=latest.authored_by(session.staff.username), KIND_NAMES=KIND_NAMES, EDGE_NAMES=EDGE_NAMES,
                  labels={key: label.split("（")[0] for key, label, _, _ in FIELDS.get(latest.kind, [])})


async def _in_words(request: Request, version: NodeVersion) -> dict[str, Any] | None:
    if not version.condition:
        return None
    graph = request.app.ctx.policy_graph
    try:
        tree = await graph.parse_condition(version.condition)
    except InvalidCondition:  # a shared condition it uses has since changed: show the tree as stored
        return None
    return conditions_in_words(tree, request.app.ctx.fact_catalogue, await graph.parameters(), today(),
                               await graph.code_names())


@bp.post(f"/nodes/{NODE_ID}/<action:submit|approve|send-back|publish|retire>")
async def move(request: Request, node_id: str, action: str) -> HTTPResponse:
    permission = {"submit": "policy.edit", "approve": "policy.review", "send-back": "policy.review",
                  "publish": "policy.publish", "retire": "policy.publish"}[action]
    session = await staff_member(request, permission)
    curation, who = request.app.ctx.policy_curation, session.staff.username
    if action == "submit":
        await curation.submit(who, node_id)
    elif action in ("approve", "send-back"):
        await curation.review(who, node_id, approve=action == "approve",
                              comment=form_value(request, "comment", limit=500))
    elif action == "publish":
        await curation.publish(who, node_id)
    else:
        await curation.retire(who, node_id)
    if action in ("publish", "retire"):
        request.app.ctx.policy_refresh.set()  # rematch now
    notices = {"submit": "已提交审核", "approve": "已审核通过，待发布", "send-back": "已退回修改",
               "publish": "已发布，正在重新匹配企业", "retire": "已废止"}
    return done(f"/console/policy/nodes/{node_id}", notices[action])


# --- the editor --------------------------------------------------------------------------------
@bp.get("/new")
async def new(request: Request) -> HTTPResponse:
    await staff_member(request, "policy.edit")
    kind = request.args.get("kind", "item")
    if kind not in NODE_KINDS:
        raise ApiError(404, "unknown_kind", f"没有 {kind} 这类节点")
    return await _editor(request, {"kind": kind, "node_id": f"{kind}:", "name": "", "data": {}, "edges": [],
                                   "condition": None, "valid_from": "", "valid_to": "", "revision": ""}, new=True)


@bp.get(f"/nodes/{NODE_ID}/edit")
async def edit(request: Request, node_id: str) -> HTTPResponse:
    await staff_member(request, "policy.edit")
    latest = await request.app.ctx.policy_graph.get(node_id)
    if latest is None:
        raise ApiError(404, "node_not_found", f"没有 {node_id}")
    if latest.state in ("in_review", "approved"):
        raise ApiError(409, "under_review", "该版本正在审核中，退回后才能修改")
    return await _editor(request, {"kind": latest.kind, "node_id": node_id, "name": latest.name, "data": latest.data,
                                   "edges": latest.edges, "condition": latest.condition,
                                   "valid_from": latest.valid_from or "", "valid_to": latest.valid_to or "",
                                   "revision": latest.revision if latest.state == "draft" else ""})


@bp.post("/save")
async def save(request: Request) -> HTTPResponse:
    session = await staff_member(request, "policy.edit")
    entered, problems = _read_form(request)
    is_new = form_value(request, "is_new") == "1"
    if problems:
        return await _editor(request, entered, new=is_new, problems=problems, status=422)
    if is_new and await request.app.ctx.policy_graph.get(entered["node_id"]) is not None:
        return await _editor(request, entered, new=True, status=409,
                             conflict=f"编号 {entered['node_id']} 已被使用：请换一个编号，或打开已有节点修改")
    try:
        saved = await request.app.ctx.policy_curation.save_draft(
            session.staff.username, entered["node_id"], entered["kind"], entered["name"], data=entered["data"],
            edges=entered["edges"], condition=entered["condition"],
            valid_from=_date(entered["valid_from"]), valid_to=_date(entered["valid_to"]),
            revision=int(entered["revision"]) if entered["revision"] else None)
    except CurationError as exc:
        conflict = exc.code == "stale_draft" or exc.code == "under_review"
        details = exc.details if isinstance(exc.details, list) else []
        return await _editor(request, entered, new=is_new, status=status_of(exc.code),
                             problems=[{"path": p.get("path", ""), "message": p.get("message", "")} for p in details]
                             or ([] if conflict else [{"path": "", "message": str(exc)}]),
                             conflict=str(exc) if conflict else None)
    return done(f"/console/policy/nodes/{saved.node_id}", f"草稿已保存（第 {saved.revision} 次修改）")


def _date(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def _read_form(request: Request) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The editor's fields as a draft, and what is wrong with them before the graph is asked."""
    problems: list[dict[str, str]] = []
    kind = form_value(request, "kind")
    if kind not in NODE_KINDS:
        raise ApiError(400, "unknown_kind", "未知的节点类型")
    node_id = form_value(request, "node_id", limit=80)
    if not node_id.startswith(f"{kind}:"):
        node_id = f"{kind}:{node_id.split(':', 1)[-1]}"
    revision = form_value(request, "revision", limit=10)
    data: dict[str, Any] = {}
    previous = form_value(request, "data_other", "{}", limit=20_000)
    try:  # keys the editor has no field for (a demo flag, an importer's note) are kept as they were
        data.update(load_json(previous) if previous else {})
    except (ValueError, TypeError):  # TypeError: JSON that is not an object
        pass
    for key, label, widget, _ in FIELDS.get(kind, []):
        raw = form_value(request, f"data.{key}", limit=5000)
        if widget == "lines":
            value: Any = [line.strip() for line in raw.splitlines() if line.strip()]
        elif widget == "json" and raw:
            try:
                value = load_json(raw)
            except JsonTooDeep:
                problems.append({"path": f"data.{key}", "message": f"{label}嵌套层级过深（最多 {MAX_JSON_DEPTH} 层）"})
                value = raw
            except ValueError:
                problems.append({"path": f"data.{key}", "message": f"{label}不是合法的 JSON"})
                value = raw
        else:
            value = raw
        if value in ("", []):
            data.pop(key, None)
        else:
            data[key] = value
    edges = [{"kind": k, "dst": d} for k, d in zip(form_values(request, "edge_kind"), form_values(request, "edge_dst"),
                                                     strict=False) if k and d]
    condition = None
    raw_condition = form_value(request, "condition", limit=50_000)
    if raw_condition:
        try:
            condition = load_json(raw_condition)
        except JsonTooDeep:
            problems.append({"path": "condition", "message": f"申请条件嵌套层级过深（最多 {MAX_JSON_DEPTH} 层）"})
            condition = raw_condition
        except ValueError:
            problems.append({"path": "condition", "message": "申请条件不是合法的 JSON"})
            condition = raw_condition
    valid_from, valid_to = form_value(request, "valid_from", limit=10), form_value(request, "valid_to", limit=10)
    for key, value in (("valid_from", valid_from), ("valid_to", valid_to)):
        try:
            _date(value)
        except ValueError:
            problems.append({"path": key, "message": "日期格式应为 YYYY-MM-DD"})
    entered = {"kind": kind, "node_id": node_id, "name": form_value(request, "name", limit=200), "data": data,
               "edges": edges, "condition": condition, "valid_from": valid_from, "valid_to": valid_to,
               "revision": revision if revision.isdigit() else ""}
    return entered, problems


async def _editor(request: Request, entered: dict[str, Any], *, new: bool = False,
                  problems: list[dict[str, str]] | None = None, conflict: str | None = None,
                  status: int = 200) -> HTTPResponse:
    ctx = request.app.ctx
    kind = entered["kind"]
    edge_kinds = [k for k, (src, _) in EDGE_KINDS.items() if src == kind]
    targets: dict[str, list[dict[str, Any]]] = {}
    for edge_kind in edge_kinds:  # what each relation may point to, for the rows' suggestions
        target_kind = EDGE_KINDS[edge_kind][1]
        if target_kind not in targets:
            targets[target_kind] = (await ctx.policy_curation.nodes(kind=target_kind, limit=500))[1]
    known = {f[0] for f in FIELDS.get(kind, [])}
    editor_catalogue = {"facts": ctx.fact_catalogue.to_json(), "operators": {t: list(o) for t, o in OPERATORS.items()},
                        "parameters": (await ctx.policy_graph.parameters()).to_json(),
                        "conditions": [r["id"] for r in (await ctx.policy_curation.nodes(kind="condition", limit=200))[1]]}
    return render(request, "policy/edit.html", status=status, entered=entered, new=new, fields=FIELDS.get(kind, []),
                  data_other=json.dumps({k: v for k, v in entered["data"].items() if k not in known}, ensure_ascii=False),
                  condition_json=json.dumps(entered["condition"], ensure_ascii=False, indent=1)
                  if isinstance(entered["condition"], dict) else (entered["condition"] or ""),
                  edge_kinds=edge_kinds, targets=targets, EDGE_KINDS=EDGE_KINDS, EDGE_NAMES=EDGE_NAMES,
                  KIND_NAMES=KIND_NAMES, problems=problems or [], conflict=conflict,
                  editor_catalogue=json.dumps(editor_catalogue, ensure_ascii=False, default=str).replace("<", "\\u003c"),
                  json_text=lambda v: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else (v or ""))
