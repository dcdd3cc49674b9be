"""The search endpoints through the real app: response shape, bad input, suggestions, hot queries
and the masked query log."""

from __future__ import annotations

import sqlalchemy as sa

from store.tables.search import search_queries
from tests.helpers import assert_error


async def ready(app) -> None:
    await app.ctx.search.wait_for_vectors()


async def test_search_returns_ranked_items_with_highlighted_snippets_and_facets(app, client):
    await ready(app)
    response = await client.get("/api/v1/search", params={"q": "公积金怎么取", "top_k": 3})
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"query", "results", "facets", "no_good_match", "took_ms"}
    assert body["query"] == "公积金怎么取" and body["no_good_match"] is False and len(body["results"]) == 3
    first = body["results"][0]
    assert (first["id"], first["code"], first["name"]) == ("CD-0021", "CD-0021", "住房公积金提取")
    assert set(first["matched_by"]) <= {"lexical", "vector", "fuzzy"} and first["matched_by"]
    assert "<em>" in first["snippet"] and first["score"] > 0
    assert set(body["facets"]) == {"audience", "department", "item_type", "level", "district"}
    assert body["methods"] == ["lexical", "vector", "fuzzy"]


async def test_search_filters_and_their_errors(app, client):
    await ready(app)
    response = await client.get("/api/v1/search", params={"q": "登记", "audience": "法人"})
    assert response.status_code == 200 and response.json()["results"]
    response = await client.get("/api/v1/search", params={"q": "登记", "level": "宇宙级"})
    error = assert_error(response, 400, "invalid_filter")
    assert error["details"]["field"] == "level" and "区县级" in error["details"]["allowed"]
    response = await client.get("/api/v1/search", params={"q": "登记", "top_k": 0})
    assert_error(response, 400, "invalid_request")
    response = await client.get("/api/v1/search", params={"q": "   "})
    assert "请输入" in assert_error(response, 400, "empty_query")["message"]
    response = await client.get("/api/v1/search")
    assert_error(response, 400, "empty_query")


async def test_suggestions_by_prefix_and_pinyin_prefix(app, client):
    await ready(app)
    by_text = await client.get("/api/v1/suggest", params={"q": "住房公积"})
    assert "住房公积金提取" in [s["text"] for s in by_text.json()["suggestions"]]
    by_pinyin = await client.get("/api/v1/suggest", params={"q": "zhufang"})
    assert any(s["text"].startswith("住房") for s in by_pinyin.json()["suggestions"])
    by_initials = await client.get("/api/v1/suggest", params={"q": "jmsfz"})
    assert any(s["text"].startswith("居民身份证") for s in by_initials.json()["suggestions"])
    empty = await client.get("/api/v1/suggest", params={"q": ""})
    assert empty.json()["suggestions"] == []


async def test_queries_are_logged_masked_and_feed_hot_queries_and_suggestions(app, client):
    await ready(app)
    for _ in range(3):
        await client.get("/api/v1/search", params={"q": "结婚登记要带什么"})
    await client.get("/api/v1/search", params={"q": "身份证510104199001011234丢了"})
    await app.ctx.search.flush_logs()
    app.ctx.search.query_log.forget_hot()  # the hot list is cached for 30 s
    hot = await client.get("/api/v1/search/hot")
    assert hot.json()["hot"][0] == {"query": "结婚登记要带什么", "count": 3}
    suggest = await client.get("/api/v1/suggest", params={"q": "结婚"})
    assert suggest.json()["suggestions"][0] == {"text": "结婚登记要带什么", "kind": "hot"}
    async with app.ctx.db.read() as conn:
        logged = [row.query for row in await conn.execute(sa.select(search_queries))]
    assert "身份证5101**********1234丢了" in logged and not any("510104199001011234" in q for q in logged)
