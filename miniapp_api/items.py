"""``/api/v1/items``: the guide catalog, one item or a filtered page of them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext import openapi

from assistant.catalog import ItemRecord
from miniapp_api.responses.search import ItemDetail, ItemPage
from web.docs import documented
from web.errors import ApiError
from web.queries import parse_query

bp = Blueprint("items", url_prefix="/api/v1/items")


class ItemsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    audience: Literal["个人", "法人"] | None = None
    department: str | None = Field(default=None, max_length=200, description="the exact department name")
    page: int = Field(default=1, ge=1, le=10_000)
    page_size: int = Field(default=20, ge=1, le=100)


def item_json(record: ItemRecord) -> dict[str, Any]:
    return {**record.item.model_dump(mode="json"), "version": record.version, "source": record.source,
            "updated_at": record.updated_at.isoformat()}


def item_summary(record: ItemRecord) -> dict[str, Any]:
    item = record.item
    return {"code": item.code, "name": item.name, "department": item.department, "item_type": item.item_type,
            "audience": item.audience, "level": item.level, "district": item.district, "version": record.version}


@bp.get("/")
@openapi.summary("List service items (事项), filtered and paged")
@documented(query=ItemsQuery, response=ItemPage)
async def list_items(request: Request) -> HTTPResponse:
    query: ItemsQuery = parse_query(ItemsQuery, request)
    records, total = await request.app.ctx.catalog.list_items(
        audience=query.audience, department=query.department, page=query.page, page_size=query.page_size)
    return json({"items": [item_summary(r) for r in records], "total": total,
                 "page": query.page, "page_size": query.page_size})


@bp.get("/<code:str>")
@openapi.summary("One service item with its full guide (办事指南); ETag, If-None-Match → 304")
@documented(response=ItemDetail, errors=(404,), other={304: ("not modified since the ETag given in If-None-Match", None)})
async def get_item(request: Request, code: str) -> HTTPResponse:
    if len(code) > 64:
        raise ApiError(404, "item_not_found", "未找到该事项", details={"code": code[:64]})
    record = await request.app.ctx.catalog.get_item(code)
    if record is None:
        raise ApiError(404, "item_not_found", f"未找到事项 {code}", details={"code": code})
    # every published change makes a new version: the version is the entity tag
    etag = f'"{record.item.code}-v{record.version}"'
    if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
        return HTTPResponse(status=304, headers={"ETag": etag})
    return json(item_json(record), headers={"ETag": etag, "Cache-Control": "no-cache"})
