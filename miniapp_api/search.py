"""``/api/v1/search``, ``/api/v1/suggest`` and ``/api/v1/search/hot``: smart search for the search box."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext import openapi

from assistant.search import SearchFilters
from miniapp_api.responses.search import HotQueries, SearchAnswer, Suggestions
from web.answers import answer
from web.docs import documented
from web.queries import parse_query

bp = Blueprint("search", url_prefix="/api/v1")


class SearchQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # longer queries are accepted and truncated by the service
    q: str = Field(default="", max_length=2000, description="what the person typed (the first 200 characters are used)")
    audience: str | None = Field(default=None, description="个人 or 法人")
    department: str | None = Field(default=None, max_length=200)
    item_type: str | None = Field(default=None, max_length=32, description="行政许可, 公共服务, …")
    level: str | None = Field(default=None, max_length=32, description="省级, 市级, 区县级")
    district: str | None = Field(default=None, max_length=64)
    top_k: int = Field(default=10, ge=1, le=50)


class SuggestQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    q: str = Field(default="", max_length=100, description="what is typed so far: characters, pinyin or initials")
    limit: int = Field(default=10, ge=1, le=20)


class HotQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=10, ge=1, le=50)


@bp.get("/search")
@openapi.summary("Search service items: lexical, vector and fuzzy/pinyin, fused")
@documented(query=SearchQuery, response=SearchAnswer, errors=(400,))
async def search(request: Request) -> HTTPResponse:
    query: SearchQuery = parse_query(SearchQuery, request)
    filters = SearchFilters(audience=query.audience, department=query.department, item_type=query.item_type,
                            level=query.level, district=query.district)
    result = await request.app.ctx.search.search(query.q, filters, query.top_k, channel="miniapp")
    return json(answer(SearchAnswer, result))


@bp.get("/suggest")
@openapi.summary("Search-box completions: hot queries, item names and aliases by prefix or pinyin prefix")
@documented(query=SuggestQuery, response=Suggestions, errors=(400,))
async def suggest(request: Request) -> HTTPResponse:
    query: SuggestQuery = parse_query(SuggestQuery, request)
    return json({"query": query.q, "suggestions": await request.app.ctx.search.suggest(query.q, query.limit)})


@bp.get("/search/hot")
@openapi.summary("The most frequent successful searches of the last seven days")
@documented(query=HotQuery, response=HotQueries, errors=(400,))
async def hot(request: Request) -> HTTPResponse:
    query: HotQuery = parse_query(HotQuery, request)
    return json({"hot": await request.app.ctx.search.hot(query.limit)})
