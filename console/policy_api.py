"""The staff API for curating the policy graph (``/api/v1/staff/policy/...``): the fact catalogue
that drives the condition editor, node lists and the review queue, drafts, submit / review /
publish / retire, dated parameters, and per item the matching enterprises and the 免申即享 list
(JSON or CSV). Handlers only translate; ``PolicyCuration`` (every change, the staff lists and history),
``PolicyGraph`` (reading what is published) and ``MatchService`` decide."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal
from urllib.parse import quote

from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json, raw
from sanic_ext import openapi

from china_time import today
from console.auth import staff_member
from csv_export import to_csv
from policy_graph.conditions import OPERATORS
from policy_graph.graph import NODE_KINDS, NodeVersion
from web.answers import IsoDate, answer
from web.bodies import parse_body
from web.docs import documented
from web.errors import ApiError
from web.pages import offset
from web.queries import parse_query

bp = Blueprint("staff_policy", url_prefix="/api/v1/staff/policy")
NODE_ID = r"<node_id:[a-z_]{3,20}:[^/]{1,70}>"
STATES = ("draft", "in_review", "approved", "published", "superseded")

Kind = Literal[NODE_KINDS]  # type: ignore[valid-type]


# --- request and answer models -----------------------------------------------------------------
class Edge(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(max_length=40)
    dst: str = Field(max_length=80)


class DraftBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Kind  # type: ignore[valid-type]
    name: str = Field(min_length=1, max_length=200)
    data: dict[str, Any] = Field(default_factory=dict, description="kind-specific fields (an item: category, "
                                 "delivery, benefit, amount, window, department…)")
    edges: list[Edge] = Field(default_factory=list, max_length=200)
    condition: dict[str, Any] | None = Field(default=None, description="ALL / ANY / NOT / ref / atom tree")
    valid_from: date | None = None
    valid_to: date | None = None
    revision: int | None = Field(default=None, ge=1, description="the draft's revision as read; required to edit one")


class ReviewBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approve: bool
    comment: str = Field(default="", max_length=500)


class ParameterBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fact_type: Literal["number", "date", "enum", "code", "set", "bool"]
    valid_from: date
    valid_to: date | None = None
    value: Any
    legal_basis: str = Field(min_length=1, max_length=200)


class NodesQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Kind | None = None  # type: ignore[valid-type]
    q: str = Field(default="", max_length=50)
    state: Literal[STATES] | None = Field(default=None, description="the latest version's state")  # type: ignore[valid-type]
    page: int = Field(default=1, ge=1, le=10_000)
    page_size: int = Field(default=20, ge=1, le=100)


class SampleQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sample: int = Field(default=10, ge=0, le=100)


class ExportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal["json", "csv"] = "json"


VERSION_EXAMPLE = {"id": "item:cd-patent-grant", "kind": "item", "version": 2, "state": "draft", "name": "发明专利授权资助",
    "data": {"category": "奖补", "delivery": "申报", "benefit": "每件发明专利资助3000元"},
    "edges": [{"kind": "handled_by", "dst": "department:cd-scjgj"}],
    "condition": {"all": [{"fact": "invention_patents", "op": ">=", "value": 1, "clause": "第五条"}]},
    "valid_from": "2026-01-01", "valid_to": "2028-12-31", "revision": 3, "author": "li.editor", "reviewer": None,
    "review_comment": None, "revision_authors": [{"revision": 1, "author": "li.editor"},
                                                 {"revision": 2, "author": "zhou.editor"},
                                                 {"revision": 3, "author": "li.editor"}]}
SUMMARY_EXAMPLE = {"id": "item:cd-patent-grant", "kind": "item", "name": "发明专利授权资助", "status": "published",
                   "state": "in_review", "latest_version": 2, "published_version": 1, "author": "li.editor",
                   "reviewer": None, "review_comment": None, "updated_at": "2026-12-02T01:00:00+00:00"}


class RevisionAuthor(BaseModel):
    model_config = ConfigDict(extra="forbid")
    revision: int
    author: str


class VersionModel(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": VERSION_EXAMPLE})
    id: str = Field(validation_alias=AliasChoices("id", "node_id"))  # NodeVersion.node_id
    kind: str
    version: int
    state: str
    name: str
    data: dict[str, Any]
    edges: list[dict[str, str]]
    condition: dict[str, Any] | None
    valid_from: IsoDate | None
    valid_to: IsoDate | None
    revision: int
    author: str
    reviewer: str | None
    review_comment: str | None
    revision_authors: list[RevisionAuthor] = Field(description="who saved each revision; none of them may "
                                                   "review or publish this version (403 own_change)")


class NodeDetail(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {
        "latest": VERSION_EXAMPLE, "published": {**VERSION_EXAMPLE, "version": 1, "state": "published"},
        "history": [{"version": 1, "state": "published", "author": "li.editor", "authors": ["li.editor"],
                     "reviewer": "zhao.reviewer",
                     "review_comment": None, "updated_at": "2026-11-30T02:00:00+00:00",
                     "published_at": "2026-11-30T02:00:00+00:00"}],
        "neighbours": [{"direction": "out", "kind": "handled_by", "id": "department:cd-scjgj", "node_kind": "department",
                        "name": "成都市市场监督管理局"}]}})
    latest: VersionModel
    published: VersionModel | None
    history: list[dict[str, Any]]
    neighbours: list[dict[str, str]]


class NodeSummary(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    kind: str
    name: str
    status: str
    state: str
    latest_version: int
    published_version: int | None
    author: str
    reviewer: str | None
    review_comment: str | None
    updated_at: str


class NodePage(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {
        "total": 1, "page": 1, "page_size": 20, "items": [SUMMARY_EXAMPLE]}})
    total: int
    page: int
    page_size: int
    items: list[NodeSummary]


class Catalogue(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {
        "facts": [{"key": "invention_patents", "label": "有效发明专利数", "type": "number", "unit": "件", "values": [],
                   "source": "知识产权局", "authoritative": True, "ask": "", "tree": ""}],
        "operators": {"number": ["==", "!=", "<", "<=", ">", ">=", "between"]}, "kinds": ["document", "clause", "item"],
        "parameters": [{"key": "cd.kjj.rd_floor", "type": "number", "valid_from": "2026-01-01", "valid_to": None,
                        "value": 50, "legal_basis": "成办发〔2025〕12号 第四条"}]}})
    facts: list[dict[str, Any]]
    operators: dict[str, list[str]]
    kinds: list[str]
    parameters: list[dict[str, Any]]


EXPLAINED = {"uscc": "91510100MA0000001A", "verdict": "true", "to_supply": [], "atoms": [
    {"fact": "invention_patents", "label": "有效发明专利数", "text": "有效发明专利数 ≥ 1件", "status": "true", "actual": 2,
     "clause": "第五条", "legal_basis": None, "authoritative": True}]}


class ItemMatches(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {
        "item": {"id": "item:cd-patent-grant", "name": "发明专利授权资助", "version": 1, "category": "奖补",
                 "delivery": "免申即享", "benefit": "每件发明专利资助3000元", "window": None},
        "counts": {"true": 1, "false": 1, "unknown": 1}, "true": [EXPLAINED],
        "unknown": [{**EXPLAINED, "uscc": "91510100MA0000002B", "verdict": "unknown",
                     "to_supply": [{"fact": "invention_patents", "label": "有效发明专利数", "ask": "贵单位有效发明专利有几件？"}]}]}})
    item: dict[str, Any]
    counts: dict[str, int]
    true: list[dict[str, Any]]
    unknown: list[dict[str, Any]]


class AutomaticList(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {
        "item_id": "item:cd-patent-grant", "enterprises": [{"uscc": "91510100MA0000001A", "sources": ["知识产权局"],
                                                           "explanation": {k: v for k, v in EXPLAINED.items() if k != "uscc"}}]}})
    item_id: str
    enterprises: list[dict[str, Any]]


class Done(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {"ok": True}})
    ok: bool


def _version_json(version: NodeVersion | None) -> dict[str, Any] | None:
    return answer(VersionModel, version) if version else None


# --- the fact catalogue and lists ------------------------------------------------------------
@bp.get("/catalogue")
@openapi.summary("The fact catalogue, operators by type, node kinds and dated parameters (for the condition editor)")
@documented(response=Catalogue, errors=(), staff=True)
async def catalogue(request: Request) -> HTTPResponse:
    await staff_member(request, "policy.view")
    ctx = request.app.ctx
    parameters = await ctx.policy_graph.parameters()
    return json({"facts": ctx.fact_catalogue.to_json(),
                 "operators": {t: list(ops) for t, ops in OPERATORS.items()}, "kinds": list(NODE_KINDS),
                 "parameters": parameters.to_json()}, default=str)


@bp.get("/nodes")
@openapi.summary("Nodes of the graph by kind, words and state, most recently changed first")
@documented(query=NodesQuery, response=NodePage, staff=True)
async def nodes(request: Request) -> HTTPResponse:
    await staff_member(request, "policy.view")
    query: NodesQuery = parse_query(NodesQuery, request)
    total, rows = await request.app.ctx.policy_curation.nodes(
        kind=query.kind, text=query.q, states=(query.state,) if query.state else (),
        offset=offset(query.page, query.page_size), limit=query.page_size)
    return json({"total": total, "page": query.page, "page_size": query.page_size, "items": rows})


@bp.get("/review-queue")
@openapi.summary("Changes waiting for review (in_review) or for publishing (approved)")
@documented(response=NodePage, errors=(), staff=True)
async def review_queue(request: Request) -> HTTPResponse:
    await staff_member(request, "policy.view")
    total, rows = await request.app.ctx.policy_curation.nodes(states=("in_review", "approved"), limit=100)
    return json({"total": total, "page": 1, "page_size": 100, "items": rows})


@bp.get(f"/nodes/{NODE_ID}")
@openapi.summary("One node: its latest and published versions, history and published neighbours")
@documented(response=NodeDetail, errors=(404,), staff=True)
async def node(request: Request, node_id: str) -> HTTPResponse:
    await staff_member(request, "policy.view")
    graph, curation = request.app.ctx.policy_graph, request.app.ctx.policy_curation
    latest = await graph.get(node_id)
    if latest is None:
        raise ApiError(404, "node_not_found", f"没有 {node_id}")
    return json({"latest": answer(VersionModel, latest), "published": _version_json(await graph.get(node_id, published=True)),
                 "history": await curation.history(node_id), "neighbours": await graph.neighbours(node_id)})


# --- curating ----------------------------------------------------------------------------------
@bp.put(f"/nodes/{NODE_ID}")
@openapi.summary("Create or edit a node's draft (a stale revision is refused, nothing is overwritten)")
@documented(DraftBody, response=VersionModel, errors=(400, 404, 409, 422), staff=True, example={
    "kind": "item", "name": "专利授权资助", "data": {"category": "奖补", "delivery": "申报", "benefit": "每件发明专利资助3000元"},
    "condition": {"all": [{"fact": "invention_patents", "op": ">=", "value": 1, "clause": "第五条"}]}})
async def save_draft(request: Request, node_id: str) -> HTTPResponse:
    session = await staff_member(request, "policy.edit")
    body: DraftBody = parse_body(DraftBody, request)
    saved = await request.app.ctx.policy_curation.save_draft(
        session.staff.username, node_id, body.kind, body.name, data=body.data,
        edges=[e.model_dump() for e in body.edges], condition=body.condition, valid_from=body.valid_from,
        valid_to=body.valid_to, revision=body.revision)
    return json(answer(VersionModel, saved))


@bp.post(f"/nodes/{NODE_ID}/submit")
@openapi.summary("Submit the draft for review")
@documented(response=VersionModel, errors=(404, 409), staff=True)
async def submit(request: Request, node_id: str) -> HTTPResponse:
    session = await staff_member(request, "policy.edit")
    return json(answer(VersionModel, await request.app.ctx.policy_curation.submit(session.staff.username, node_id)))


@bp.post(f"/nodes/{NODE_ID}/review")
@openapi.summary("Approve, or send back with a comment (not by anyone who saved a revision of it)")
@documented(ReviewBody, response=VersionModel, errors=(400, 404, 409, 422), staff=True,
            example={"approve": False, "comment": "第三条的年限写错了"})
async def review(request: Request, node_id: str) -> HTTPResponse:
    session = await staff_member(request, "policy.review")
    body: ReviewBody = parse_body(ReviewBody, request)
    return json(answer(VersionModel, await request.app.ctx.policy_curation.review(
        session.staff.username, node_id, approve=body.approve, comment=body.comment)))


@bp.post(f"/nodes/{NODE_ID}/publish")
@openapi.summary("Publish the approved version (it supersedes the one before; not by anyone who saved a "
                 "revision of it); matching reruns at once")
@documented(response=VersionModel, errors=(404, 409), staff=True)
async def publish(request: Request, node_id: str) -> HTTPResponse:
    session = await staff_member(request, "policy.publish")
    published = await request.app.ctx.policy_curation.publish(session.staff.username, node_id)
    request.app.ctx.policy_refresh.set()
    return json(answer(VersionModel, published))


@bp.post(f"/nodes/{NODE_ID}/retire")
@openapi.summary("Retire a published node (废止): it stops matching and leaves the graph")
@documented(response=Done, errors=(404, 409), staff=True)
async def retire(request: Request, node_id: str) -> HTTPResponse:
    session = await staff_member(request, "policy.publish")
    await request.app.ctx.policy_curation.retire(session.staff.username, node_id)
    request.app.ctx.policy_refresh.set()
    return json({"ok": True})


@bp.put("/parameters/<key:[a-z0-9_.]{1,80}>")
@openapi.summary("Set a dated parameter (a threshold by year, with its legal basis)")
@documented(ParameterBody, response=Done, errors=(400, 404, 422), staff=True, example={
    "fact_type": "number", "valid_from": "2026-01-01", "value": 2000, "legal_basis": "成府发〔2026〕1号 第三条"})
async def set_parameter(request: Request, key: str) -> HTTPResponse:
    session = await staff_member(request, "policy.edit")
    body: ParameterBody = parse_body(ParameterBody, request)
    await request.app.ctx.policy_curation.set_parameter(
        session.staff.username, key, body.fact_type, body.valid_from, body.value, body.legal_basis, body.valid_to)
    request.app.ctx.policy_refresh.set()
    return json({"ok": True})


# --- matching ----------------------------------------------------------------------------------
@bp.get(f"/items/{NODE_ID}/matches")
@openapi.summary("How many enterprises are true / false / unknown on an item, with explained samples")
@documented(query=SampleQuery, response=ItemMatches, errors=(400, 404), staff=True)
async def item_matches(request: Request, node_id: str) -> HTTPResponse:
    await staff_member(request, "policy.view")
    query: SampleQuery = parse_query(SampleQuery, request)
    found = await request.app.ctx.matches.for_item(node_id, today(), sample=query.sample)
    if found is None:
        raise ApiError(404, "item_not_in_force", f"{node_id} 不是现行有效的已发布政策事项")
    return json(found, default=str)


@bp.get(f"/items/{NODE_ID}/automatic")
@openapi.summary("The 免申即享 list: enterprises true on authoritative facts only (JSON, or CSV to export)")
@documented(query=ExportQuery, response=AutomaticList, errors=(400, 404), staff=True)
async def automatic(request: Request, node_id: str) -> HTTPResponse:
    await staff_member(request, "policy.view")
    query: ExportQuery = parse_query(ExportQuery, request)
    version = await request.app.ctx.policy_graph.get(node_id, published=True)
    if version is None or version.kind != "item" or version.data.get("delivery") != "免申即享":
        raise ApiError(404, "not_automatic", f"{node_id} 不是已发布的免申即享事项")
    listed = await request.app.ctx.matches.automatic_list(node_id, today())
    if query.format == "json":
        return json({"item_id": node_id, "enterprises": listed}, default=str)
    return raw(automatic_csv(version, listed), content_type="text/csv; charset=utf-8",
               headers={"Content-Disposition": f"attachment; filename*=UTF-8''{_ascii_name(node_id)}.csv"})


def automatic_csv(version: NodeVersion, listed: list[dict[str, Any]]) -> bytes:
    """One row per enterprise: what it was found to meet, on which sources. With a BOM, so that
    Excel (what the department will open it in) reads the Chinese correctly."""
    rows = []
    for entry in listed:
        met = [a["text"] for a in entry["explanation"]["atoms"] if a["status"] == "true"]
        rows.append([entry["uscc"], version.name, version.version, "；".join(met), "、".join(entry["sources"])])
    return to_csv(["统一社会信用代码", "政策事项", "事项版本", "符合的条件", "数据来源"], rows)


def _ascii_name(node_id: str) -> str:
    return quote(node_id.replace(":", "-"), safe="")
