"""The catalog and search: item pages and details, search results, suggestions, hot queries."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, PlainSerializer

from assistant.models import ServiceItem
from miniapp_api.responses.common import Paged, strict

# scores to four places and timings to two, as answered (the models keep the full values)
Rounded4 = Annotated[float, PlainSerializer(lambda value: round(value, 4), return_type=float)]
Rounded2 = Annotated[float, PlainSerializer(lambda value: round(value, 2), return_type=float)]


class ItemSummary(BaseModel):
    model_config = strict()
    code: str
    name: str
    department: str
    item_type: str
    audience: list[str]
    level: str
    district: str
    version: int


class ItemPage(Paged):
    model_config = strict({"items": [{"code": "CD-0021", "name": "住房公积金提取", "department": "成都住房公积金管理中心",
                                       "item_type": "公共服务", "audience": ["个人"], "level": "市级", "district": "",
                                       "version": 1}], "total": 1, "page": 1, "page_size": 20})
    items: list[ItemSummary]


class ItemDetail(ServiceItem):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {
        "code": "CD-0021", "name": "住房公积金提取", "department": "成都住房公积金管理中心", "version": 3,
        "source": "demo", "updated_at": "2026-11-20T08:00:00+00:00"}})
    version: int
    source: str
    updated_at: str


class SearchHit(BaseModel):
    model_config = strict()
    id: str = Field(validation_alias=AliasChoices("id", "code"))  # a hit's id is its item's code
    code: str
    name: str
    department: str
    score: Rounded4
    matched_by: list[str]
    snippet: str
    scores: dict[str, Rounded4]


class SearchAnswer(BaseModel):
    model_config = strict({"query": "公积金怎么取", "results": [{
        "id": "CD-0021", "code": "CD-0021", "name": "住房公积金提取", "department": "成都住房公积金管理中心",
        "score": 0.97, "matched_by": ["lexical", "vector"], "snippet": "<em>公积金</em>提取…",
        "scores": {"lexical": 11.2, "vector": 0.88}}], "facets": {"department": {"成都住房公积金管理中心": 3}},
        "no_good_match": False, "confidence": 0.93, "took_ms": 21.4, "methods": ["lexical", "vector", "fuzzy"],
        "expansions": ["提取"], "truncated": False})
    query: str
    results: list[SearchHit]
    facets: dict[str, dict[str, int]]
    no_good_match: bool
    confidence: Rounded4
    took_ms: Rounded2
    methods: list[str]
    expansions: list[str]
    truncated: bool


class Suggestion(BaseModel):
    model_config = strict()
    text: str
    kind: Literal["hot", "item"]
    code: str | None = None


class Suggestions(BaseModel):
    model_config = strict({"query": "gjj", "suggestions": [{"text": "住房公积金提取", "kind": "item", "code": "CD-0021"}]})
    query: str
    suggestions: list[Suggestion]


class HotEntry(BaseModel):
    model_config = strict()
    query: str
    count: int


class HotQueries(BaseModel):
    model_config = strict({"hot": [{"query": "公积金提取", "count": 42}]})
    hot: list[HotEntry]
