"""The signed-in user's own things: ``/api/v1/me`` (masked profile, identity and enterprise
binding), ``/api/v1/me/applications``, ``/api/v1/me/subscriptions``, ``/api/v1/me/messages``, and
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
from miniapp_api.chat import parse_body
from miniapp_api.common import ApiError, parse_query
from miniapp_api.docs import documented
from miniapp_api.responses import (
    ApplicationPage,
    EvaluationAdded,
    EvaluationStats,
    MarkedRead,
    Profile,
    SubscriptionAdded,
    SubscriptionList,
    Unbound,
)
from miniapp_api.responses import MessagePage as MessagePageAnswer
from smartform.base_library import LibraryUnavailable
from smartform.evaluations import TAGS, EvaluationError
from smartform.identity import BindingError
from store.tables import utcnow as now_utc

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


def _binding_error(exc: BindingError) -> ApiError:
    if exc.code == "too_many_attempts":
        return ApiError(429, exc.code, str(exc), headers={"Retry-After": "86400"})
    return ApiError(422, exc.code, str(exc))


@bp.get("/me")
@openapi.summary("The signed-in user's profile, masked")
@documented(response=Profile, errors=(), secured=True)
async def me(request: Request) -> HTTPResponse:
    return json(await request.app.ctx.identities.profile(await current_user(request)))


@bp.post("/me/identity")
@openapi.summary("Real-name binding (实名), verified against the population library; 5 attempts a day")
@documented(IdentityBody, response=Profile, errors=(400, 422, 503), secured=True, example={"name": "王示例明", "id_number": "510104199003071234"})
async def bind_identity(request: Request) -> HTTPResponse:
    user = await current_user(request)
    body: IdentityBody = parse_body(IdentityBody, request)  # type: ignore[assignment]
    try:
        await request.app.ctx.identities.bind_person(user, body.name, body.id_number)
    except BindingError as exc:
        raise _binding_error(exc) from None
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
@openapi.summary("Act for an enterprise, as its legal representative or an agent")
@documented(EnterpriseBody, response=Profile, errors=(400, 422, 503), secured=True, example={"uscc": "91510104MA6C5XJ01K", "role": "经办人"})
async def bind_enterprise(request: Request) -> HTTPResponse:
    user = await current_user(request)
    body: EnterpriseBody = parse_body(EnterpriseBody, request)  # type: ignore[assignment]
    try:
        await request.app.ctx.identities.bind_enterprise(user, body.uscc, body.role)
    except BindingError as exc:
        raise _binding_error(exc) from None
    except LibraryUnavailable:
        raise ApiError(503, "library_unavailable", "法人库暂时无法访问，请稍后再试") from None
    return json(await request.app.ctx.identities.profile(user))


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
    body: SubscriptionBody = parse_body(SubscriptionBody, request)  # type: ignore[assignment]
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
    body: EvaluationBody = parse_body(EvaluationBody, request)  # type: ignore[assignment]
    try:
        result = await request.app.ctx.evaluations.submit(user, body.target_type, body.target_id, body.stars,
                                                          body.tags, body.comment)
    except EvaluationError as exc:
        raise ApiError(exc.status, exc.code, str(exc), details={"tags": list(TAGS)} if exc.code == "unknown_tags"
                       else None) from None
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
