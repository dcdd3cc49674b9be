"""Enterprise support policies for the mini-program: ``/api/v1/policies`` (find items),
``/api/v1/policies/{id}`` (one item with its conditions in plain Chinese, clauses and departments)
and ``/api/v1/me/enterprise/matches`` (what the signed-in user's enterprise qualifies for, or
might with more information, each explained)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext import openapi

from china_time import today
from miniapp_api.auth import current_user
from miniapp_api.responses.policies import EnterpriseMatches, PolicyDetail, PolicyPage, PushSettingAnswer
from policy_graph.engine import conditions_in_words
from policy_graph.graph import ITEM_CATEGORIES, NodeVersion
from web.bodies import parse_body
from web.docs import documented
from web.errors import ApiError
from web.pages import offset
from web.queries import parse_query

bp = Blueprint("policies", url_prefix="/api/v1")


class PushSetting(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool


class PoliciesQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    q: str = Field(default="", max_length=50, description="words in the item's name or benefit")
    category: Literal[ITEM_CATEGORIES] | None = Field(default=None, description="减免, 奖补, 权益 or 资质")  # type: ignore[valid-type]
    industry: str | None = Field(default=None, pattern=r"^[A-Ta-t](\d{2,4})?$", description="GB/T 4754 code: C, C34")
    page: int = Field(default=1, ge=1, le=10_000)
    page_size: int = Field(default=20, ge=1, le=100)


def summary(version: NodeVersion) -> dict[str, Any]:
    data = version.data
    return {"id": version.node_id.removeprefix("item:"), "name": version.name, "category": data.get("category"),
            "delivery": data.get("delivery"), "benefit": data.get("benefit", ""), "window": data.get("window"),
            "valid_to": version.valid_to.isoformat() if version.valid_to else None, "version": version.version}


@bp.get("/policies")
@openapi.summary("Find enterprise support policy items in force (政策事项)")
@documented(query=PoliciesQuery, response=PolicyPage)
async def find(request: Request) -> HTTPResponse:
    query: PoliciesQuery = parse_query(PoliciesQuery, request)
    found = await request.app.ctx.policy_graph.find_items(today(), text=query.q.strip(), category=query.category,
                                                          industry=query.industry)
    start = offset(query.page, query.page_size)
    return json({"items": [summary(v) for v, _ in found[start:start + query.page_size]], "page": query.page,
                 "page_size": query.page_size, "total": len(found)})


@bp.get("/policies/<item_id:str>")
@openapi.summary("One policy item: benefit, conditions in plain Chinese with their clauses, departments")
@documented(response=PolicyDetail, errors=(404,))
async def detail(request: Request, item_id: str) -> HTTPResponse:
    graph, day = request.app.ctx.policy_graph, today()
    found = (await graph.published_items(day)).get(f"item:{item_id[:76]}")
    if found is None:
        raise ApiError(404, "policy_not_found", "没有找到这项政策（或已不在有效期内）", details={"id": item_id[:76]})
    version, tree = found
    links = await graph.neighbours(version.node_id)
    clauses = {}
    for link in links:
        if link["kind"] == "implements":
            clause = await graph.get(link["id"], published=True)
            clauses[link["id"]] = {"id": link["id"], "name": link["name"],
                                   "summary": (clause.data.get("summary", "") if clause else "")}
    return json({**summary(version), "data": version.data,
                 "conditions": conditions_in_words(tree, request.app.ctx.fact_catalogue, await graph.parameters(), day,
                                                   await graph.code_names()),
                 "clauses": list(clauses.values()),
                 "departments": [link["name"] for link in links if link["kind"] == "handled_by"],
                 "service_items": [link["id"].removeprefix("service_item:") for link in links
                                   if link["kind"] == "handled_via"],
                 "valid_from": version.valid_from.isoformat() if version.valid_from else None})


@bp.put("/me/policy-pushes")
@openapi.summary("Turn policy pushes (subscribe messages) on or off; matches stay visible in the mini-program")
@documented(PushSetting, response=PushSettingAnswer, secured=True, example={"enabled": False})
async def push_setting(request: Request) -> HTTPResponse:
    user = await current_user(request)
    body: PushSetting = parse_body(PushSetting, request)
    await request.app.ctx.push_planner.opt_out(user, out=not body.enabled)
    return json({"enabled": body.enabled})


@bp.get("/me/enterprise/matches")
@openapi.summary("The items my enterprise qualifies for (true) or might (unknown: what to supply)")
@documented(response=EnterpriseMatches, errors=(422,), secured=True)
async def my_matches(request: Request) -> HTTPResponse:
    uscc = await request.app.ctx.identities.acting_enterprise(await current_user(request), "policy", "matches")
    if uscc is None:  # not bound, not verified, or an agent without a live grant for this
        raise ApiError(422, "enterprise_required", "请先以法定代表人或已获授权的经办人身份绑定企业")
    answers = await request.app.ctx.matches.for_enterprise(uscc, today())
    for answer in answers:
        answer["item"]["id"] = answer["item"]["id"].removeprefix("item:")
    return json({"qualified": [a for a in answers if a["verdict"] == "true"],
                 "to_confirm": [a for a in answers if a["verdict"] == "unknown"]})
