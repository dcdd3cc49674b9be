"""The signed-in user's own things: ``/api/v1/me`` (masked profile, identity binding through the
identity platform or the knowledge-only fallback, enterprise binding and its agents' grants), ``/api/v1/me/applications``, ``/api/v1/me/subscriptions``, ``/api/v1/me/messages``, and
good/bad evaluations ``/api/v1/evaluations``."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext import openapi

from china_time import CHINA
from miniapp_api import forms
from miniapp_api.auth import current_user
from miniapp_api.responses.forms import ApplicationPage
from miniapp_api.responses.identity import (
    EnterpriseGrantList,
    GrantAdded,
    GrantRevoked,
    PlatformSignIn,
    Profile,
    Unbound,
)
from miniapp_api.responses.messages import (
    EvaluationAdded,
    EvaluationStats,
    MarkedRead,
    SubscriptionAdded,
    SubscriptionList,
)
from miniapp_api.responses.messages import MessagePage as MessagePageAnswer
from smartform.base_library import LibraryUnavailable
from smartform.enterprise_grants import MAX_GRANT_DAYS
from smartform.evaluations import TAGS
from smartform.identity import AUTHORIZATION_TTL
from store.tables.base import utcnow as now_utc
from web.addresses import client_address
from web.bodies import parse_body
from web.docs import documented
from web.errors import ApiError
from web.queries import parse_query

bp = Blueprint("me", url_prefix="/api/v1")
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)


class IdentityBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=30)
    id_number: str = Field(min_length=15, max_length=20)


class EnterpriseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    uscc: str = Field(min_length=18, max_length=24)
    role: Literal["法定代表人", "经办人"]


class Page(BaseModel):
    model_config = ConfigDict(extra="forbid")
    page: int = Field(default=1, ge=1, le=10_000)
    page_size: int = Field(default=20, ge=1, le=100)


class MessagePage(Page):
    unread: bool = False


class SubscriptionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    template_id: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_\-]+$")
    scene: Literal["application_status", "policy_match", "evaluation_reply"]
    long_term: bool = False
    count: int = Field(default=1, ge=1, le=50)


class EvaluationBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target_type: Literal["application", "answer"]
    target_id: str = Field(min_length=1, max_length=32)
    stars: int = Field(ge=1, le=5)
    tags: list[str] = Field(default_factory=list, max_length=len(TAGS))
    comment: str | None = Field(default=None, max_length=500)


class StatsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    item: str | None = Field(default=None, max_length=64, description="a service item code")
    department: str | None = Field(default=None, max_length=200)
    # bounded: a day far outside them cannot even be converted to UTC
    from_: date | None = Field(default=None, alias="from", ge=EARLIEST, le=LATEST,
                               description="first day (China time), YYYY-MM-DD")
    to: date | None = Field(default=None, ge=EARLIEST, le=LATEST, description="last day (China time), YYYY-MM-DD")


class PlatformCallbackBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=512)
    state: str = Field(min_length=16, max_length=128)


class GrantBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agent_name: str = Field(min_length=1, max_length=30)
    agent_id_number: str = Field(min_length=15, max_length=20)
    scopes: list[Literal["policy", "apply"]] = Field(min_length=1, max_length=2)
    days: int = Field(default=365, ge=1, le=MAX_GRANT_DAYS)


@bp.get("/me")
@openapi.summary("The signed-in user's profile, masked")
@documented(response=Profile, errors=(), secured=True)
async def me(request: Request) -> HTTPResponse:
    return json(await request.app.ctx.identities.profile(await current_user(request)))


@bp.post("/me/identity/platform")
@openapi.summary("Start real-name binding at the unified identity platform (统一身份认证, OIDC with PKCE)")
@documented(response=PlatformSignIn, ok=201, errors=(503,), secured=True)
async def start_platform_sign_in(request: Request) -> HTTPResponse:
    user = await current_user(request)
    url = await request.app.ctx.identities.start_platform_sign_in(user)
    return json({"authorize_url": url, "expires_in": int(AUTHORIZATION_TTL.total_seconds())}, status=201)


@bp.post("/me/identity/platform/callback")
@openapi.summary("Finish it: the code and state the platform sent to the redirect page; binds the verified person")
@documented(PlatformCallbackBody, response=Profile, errors=(400, 409, 422, 503), secured=True, example={"code": "SplxlOBeZQQYbYS6WxSbIA", "state": "af0ifjsldkj-Rk3ZSv0a8Jq"})
async def finish_platform_sign_in(request: Request) -> HTTPResponse:
    user = await current_user(request)
    body: PlatformCallbackBody = parse_body(PlatformCallbackBody, request)
    await request.app.ctx.identities.finish_platform_sign_in(user, body.code, body.state)
    return json(await request.app.ctx.identities.profile(user))


@bp.post("/me/identity")
@openapi.summary("Knowledge-only real-name binding (name + ID number, checked against the population library): "
                 "the rate-limited fallback; it cannot read base libraries, apply or act for an enterprise")
@documented(IdentityBody, response=Profile, errors=(400, 409, 422, 503), secured=True, example={"name": "王示例明", "id_number": "510104199003071234"})
async def bind_identity(request: Request) -> HTTPResponse:
    user = await current_user(request)
    body: IdentityBody = parse_body(IdentityBody, request)
    try:
        await request.app.ctx.identities.bind_person(user, body.name, body.id_number, client_address(request))
    except LibraryUnavailable:
        raise ApiError(503, "library_unavailable", "人口库暂时无法访问，请稍后再试") from None
    return json(await request.app.ctx.identities.profile(user))


@bp.delete("/me/identity")
@openapi.summary("Undo the real-name binding (and the enterprise binding with it)")
@documented(response=Unbound, errors=(), secured=True)
async def unbind(request: Request) -> HTTPResponse:
    await request.app.ctx.identities.unbind_person(await current_user(request))
    return json({"bound": False})


@bp.post("/me/enterprise")
@openapi.summary("Act for an enterprise, as its legal representative or an agent it has authorised "
                 "(both need a platform-verified identity)")
@documented(EnterpriseBody, response=Profile, errors=(400, 403, 422, 503), secured=True, example={"uscc": "91510104MA6C5XJ01K", "role": "经办人"})
async def bind_enterprise(request: Request) -> HTTPResponse:
    user = await current_user(request)
    body: EnterpriseBody = parse_body(EnterpriseBody, request)
    try:
        await request.app.ctx.identities.bind_enterprise(user, body.uscc, body.role)
    except LibraryUnavailable:
        raise ApiError(503, "library_unavailable", "法人库暂时无法访问，请稍后再试") from None
    return json(await request.app.ctx.identities.profile(user))


@bp.get("/me/enterprise/grants")
@openapi.summary("My enterprise's agents (经办人授权): every grant with its status and latest uses (legal representative)")
@documented(response=EnterpriseGrantList, errors=(403,), secured=True)
async def grants(request: Request) -> HTTPResponse:
    identities = request.app.ctx.identities
    uscc = await identities.representative_of(await current_user(request))
    return json({"items": await identities.grants.of_enterprise(uscc)})


@bp.post("/me/enterprise/grants")
@openapi.summary("Authorise a person as my enterprise's agent, by name and ID number, with scopes and an expiry")
@documented(GrantBody, response=GrantAdded, ok=201, errors=(400, 403, 422, 503), secured=True, example={"agent_name": "李示例", "agent_id_number": "510104199205061234", "scopes": ["policy", "apply"], "days": 365})
async def grant(request: Request) -> HTTPResponse:
    user, identities = await current_user(request), request.app.ctx.identities
    body: GrantBody = parse_body(GrantBody, request)
    try:
        uscc = await identities.representative_of(user)
        record = await identities.grants.grant(user, uscc, body.agent_name, body.agent_id_number, body.scopes, body.days)
    except LibraryUnavailable:
        raise ApiError(503, "library_unavailable", "人口库暂时无法访问，请稍后再试") from None
    return json({"grant": {**record, "uses": []}}, status=201)


@bp.delete("/me/enterprise/grants/<grant_id:str>")
@openapi.summary("Revoke an agent's grant; it stops working at once")
@documented(response=GrantRevoked, errors=(403, 404), secured=True)
async def revoke_grant(request: Request, grant_id: str) -> HTTPResponse:
    user, identities = await current_user(request), request.app.ctx.identities
    uscc = await identities.representative_of(user)
    if not await identities.grants.revoke(user, uscc, grant_id[:32]):
        raise ApiError(404, "grant_not_found", "没有找到这项有效的授权")
    return json({"revoked": True})


@bp.get("/me/applications")
@openapi.summary("My applications, newest first (paged)")
@documented(query=Page, response=ApplicationPage, secured=True)
async def my_applications(request: Request) -> HTTPResponse:
    user = await current_user(request)
    query: Page = parse_query(Page, request)
    items, total = await request.app.ctx.applications.of_user(user, query.page, query.page_size)
    return json({"items": items, "page": query.page, "page_size": query.page_size, "total": total})


# one of my applications with its timeline: the same answer as /api/v1/applications/{no}
bp.add_route(forms.get_application, "/me/applications/<number:str>", methods=["GET"], name="my_application")


@bp.post("/me/subscriptions")
@openapi.summary("Record a subscribe-message consent (wx.requestSubscribeMessage accepted)")
@documented(SubscriptionBody, response=SubscriptionAdded, ok=201, secured=True, example={"template_id": "TPL_STATUS", "scene": "application_status", "count": 1})
async def subscribe(request: Request) -> HTTPResponse:
    user = await current_user(request)
    body: SubscriptionBody = parse_body(SubscriptionBody, request)
    record = await request.app.ctx.subscriptions.add(user, body.template_id, body.scene, body.long_term, body.count)
    return json({"subscription": record}, status=201)


@bp.get("/me/subscriptions")
@openapi.summary("My subscribe-message consents")
@documented(response=SubscriptionList, errors=(), secured=True)
async def subscriptions(request: Request) -> HTTPResponse:
    return json({"items": await request.app.ctx.subscriptions.of_user(await current_user(request))})


@bp.get("/me/messages")
@openapi.summary("My message centre (paged), with the unread count")
@documented(query=MessagePage, response=MessagePageAnswer, secured=True)
async def messages(request: Request) -> HTTPResponse:
    user = await current_user(request)
    query: MessagePage = parse_query(MessagePage, request)
    return json(await request.app.ctx.messages.page(user, query.page, query.page_size, query.unread))


@bp.post("/me/messages/<message_id:int>/read")
@openapi.summary("Mark one message read")
@documented(response=MarkedRead, errors=(404,), secured=True)
async def read_message(request: Request, message_id: int) -> HTTPResponse:
    if not await request.app.ctx.messages.mark_read(await current_user(request), message_id):
        raise ApiError(404, "message_not_found", "没有这条未读消息")
    return json({"read": 1})


@bp.post("/me/messages/read-all")
@openapi.summary("Mark all my messages read")
@documented(response=MarkedRead, errors=(), secured=True)
async def read_all(request: Request) -> HTTPResponse:
    return json({"read": await request.app.ctx.messages.mark_read(await current_user(request))})


@bp.post("/evaluations")
@openapi.summary("Rate an application or an assistant answer (1–5 stars, tags, comment)")
@documented(EvaluationBody, response=EvaluationAdded, ok=201, errors=(400, 404, 409, 422), secured=True, example={"target_type": "application", "target_id": "SQ20261122000001", "stars": 5, "tags": ["办事便捷"]})
async def evaluate(request: Request) -> HTTPResponse:
    user = await current_user(request)
    body: EvaluationBody = parse_body(EvaluationBody, request)
    result = await request.app.ctx.evaluations.submit(user, body.target_type, body.target_id, body.stars,
                                                      body.tags, body.comment)
    return json({"evaluation": result}, status=201)


@bp.get("/evaluations/stats")
@openapi.summary("Public statistics of application evaluations")
@documented(query=StatsQuery, response=EvaluationStats)
async def evaluation_stats(request: Request) -> HTTPResponse:
    query: StatsQuery = parse_query(StatsQuery, request)
    since = datetime.combine(query.from_, time.min, CHINA) if query.from_ else None
    until = datetime.combine(query.to + timedelta(days=1), time.min, CHINA) if query.to else None
    if since and until and since >= until:
        raise ApiError(400, "invalid_request", "from 不能晚于 to")
    stats = await request.app.ctx.evaluations.stats(item=query.item, department=query.department, since=since, until=until)
    return json({**stats, "tags_allowed": list(TAGS), "as_of": now_utc().isoformat()})
