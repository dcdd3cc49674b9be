"""``/api/v1/search``, ``/api/v1/suggest`` and ``/api/v1/search/hot``: smart search for the search box."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext import openapi

from assistant.search import SearchError, SearchFilters
from miniapp_api.common import ApiError, parse_query

bp = Blueprint("search", url_prefix="/api/v1")


class SearchQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    q: str = Field(default="", max_length=2000)  # longer queries are truncated by the service
    audience: str | None = None
    department: str | None = Field(default=None, max_length=200)
    item_type: str | None = Field(default=None, max_length=32)
    level: str | None = Field(default=None, max_length=32)
    district: str | None = Field(default=None, max_length=64)
    top_k: int = Field(default=10, ge=1, le=50)


class SuggestQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    q: str = Field(default="", max_length=100)
    limit: int = Field(default=10, ge=1, le=20)


class HotQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=10, ge=1, le=50)


@bp.get("/search")
@openapi.summary("Search service items: lexical, vector and fuzzy/pinyin, fused")
@openapi.parameter("q", str, "query", required=True, description="what the person typed (up to 200 characters are used)")
@openapi.parameter("audience", str, "query", description="个人 or 法人")
@openapi.parameter("department", str, "query")
@openapi.parameter("item_type", str, "query", description="行政许可, 公共服务, …")
@openapi.parameter("level", str, "query")
@openapi.parameter("district", str, "query")
@openapi.parameter("top_k", int, "query", description="1-50, default 10")
async def search(request: Request) -> HTTPResponse:
    query: SearchQuery = parse_query(SearchQuery, request)
    filters = SearchFilters(audience=query.audience, department=query.department, item_type=query.item_type,
                            level=query.level, district=query.district)
    try:
        result = await request.app.ctx.search.search(query.q, filters, query.top_k, channel="miniapp")
    except SearchError as exc:
        raise ApiError(400, exc.code, str(exc), exc.details) from None
    return json(result.to_json())


@bp.get("/suggest")
@openapi.summary("Search-box completions: hot queries, item names and aliases by prefix or pinyin prefix")
@openapi.parameter("q", str, "query", required=True)
@openapi.parameter("limit", int, "query")
async def suggest(request: Request) -> HTTPResponse:
    query: SuggestQuery = parse_query(SuggestQuery, request)
    return json({"query": query.q, "suggestions": await request.app.ctx.search.suggest(query.q, query.limit)})


@bp.get("/search/hot")
@openapi.summary("The most frequent successful searches of the last seven days")
@openapi.parameter("limit", int, "query")
async def hot(request: Request) -> HTTPResponse:
    query: HotQuery = parse_query(HotQuery, request)
    return json({"hot": await request.app.ctx.search.hot(query.limit)})
