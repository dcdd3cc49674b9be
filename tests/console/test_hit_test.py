"""The hit testing pages over real HTTP: each method's score for a demo question, the dry run
that stores nothing (no search log, no chat turn, no session, no ticket), the assistant's intent
and would-be answer, and batch Recall@k of an uploaded file with its bad lines reported."""

from __future__ import annotations

import asyncio
import html
import json
import re

import sqlalchemy as sa

from server import create_app
from store.tables.dialogue import chat_turns, demand_tickets, dialogue_sessions
from store.tables.search import search_queries
from tests.console.conftest import add_staff, sign_in_page
from tests.miniapp_api.conftest import serve


async def count(app, table) -> int:  # type: ignore[no-untyped-def]
    async with app.ctx.db.read() as conn:
        return (await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one()


def row_of(page: str, code: str) -> str:
    return next(row for row in re.findall(r"<tr>.*?</tr>", page, re.S) if f"<code>{code}</code>" in row)


async def test_each_method_scores_a_demo_question_and_nothing_is_logged(app):
    async with serve(app) as http:
        await add_staff(app)
        await app.ctx.search.wait_for_vectors()
        await sign_in_page(http, "zhao.reviewer")  # hit testing is for every role
        page = await http.get("/console/hit-test", params={"q": "结婚登记要带什么材料", "top_k": "5"})
        assert page.status_code == 200
        row = row_of(page.text, "CD-0027")
        assert "结婚登记" in row
        # lexical, vector, fuzzy and the fused score: four numbers, and how it matched
        assert len(re.findall(r'<td class="num">(?:<strong>)?\d+\.\d{3}', row)) == 4, row
        assert "关键词" in row and "语义向量" in row
        assert "置信度" in page.text and ("可靠匹配" in page.text)
        assert "智能问答未启用" in page.text  # this app runs without the assistant: the search part still shows
        assert page.text.count("<tr>") <= 6  # top_k 5 and the header

        nothing = await http.get("/console/hit-test", params={"q": "火星移民签证怎么申请"})
        assert "无可靠匹配" in nothing.text
        filtered = await http.get("/console/hit-test", params={"q": "身份证", "audience": "法人人"})
        assert filtered.status_code == 422 and "不存在" in filtered.text
        evil = '<script>alert("x")</script>'
        escaped = await http.get("/console/hit-test", params={"q": evil})
        assert "<script>alert" not in escaped.text and "&lt;script&gt;alert(" in escaped.text

        await app.ctx.search.flush_logs()
        assert await count(app, search_queries) == 0 and await count(app, chat_turns) == 0


async def test_a_batch_reports_recall_at_k_and_the_lines_it_could_not_read(app):
    async with serve(app) as http:
        await add_staff(app)
        await app.ctx.search.wait_for_vectors()
        csrf = await sign_in_page(http, "li.editor")
        form = await http.get("/console/hit-test/batch")
        assert form.status_code == 200 and "demo_queries.jsonl" in form.text
        lines = [json.dumps({"query": "结婚登记", "expected": ["CD-0027"]}, ensure_ascii=False),
                 '{"query": "缺了期望"}',
                 json.dumps({"query": "住房公积金提取", "expected": ["CD-0021"]}, ensure_ascii=False),
                 "这不是 JSON",
                 json.dumps({"query": "结婚登记要带什么材料", "expected": ["CD-0021"]}, ensure_ascii=False)]
        body = "\n".join(lines).encode()
        refused = await http.post("/console/hit-test/batch", files={"file": ("mine.jsonl", body, "application/json")})
        assert refused.status_code == 403  # no CSRF token
        answer = await http.post("/console/hit-test/batch", data={"csrf_token": csrf},
                                 files={"file": ("mine.jsonl", body, "application/json")})
        assert answer.status_code == 200, answer.text
        page = answer.text
        assert "mine.jsonl：3 条查询" in page
        assert "第 2 行" in page and "第 4 行" in page
        fused = re.search(r'<tr class="main-run">(.*?)</tr>', page, re.S).group(1)
        numbers = re.findall(r"\d\.\d{3}", fused)
        assert numbers[0] == "0.667"  # Recall@1: the third query expects the wrong item on purpose
        assert len(numbers) == 5  # Recall@1/3/5/10 and MRR
        misses = page[page.index("未排在第一的查询"):]
        assert "结婚登记要带什么材料" in misses and "1. 结婚登记" in misses  # what came first instead

        too_big = await http.post("/console/hit-test/batch", data={"csrf_token": csrf},
                                  files={"file": ("big.jsonl", b"x" * (300 * 1024), "application/json")})
        assert too_big.status_code == 413 and "不能超过" in too_big.text
        unknown = await http.post("/console/hit-test/batch", data={"csrf_token": csrf, "bundled": "../settings.py"})
        assert unknown.status_code == 404
        await app.ctx.search.flush_logs()
        assert await count(app, search_queries) == 0


async def test_with_the_assistant_built_the_intent_and_would_be_answer_show_and_nothing_is_stored(test_settings):
    app = create_app(test_settings.with_overrides(assistant=True))
    async with serve(app) as http:
        await add_staff(app)
        await asyncio.wait_for(asyncio.shield(app.ctx.dialogue_task), timeout=120)
        await app.ctx.search.wait_for_vectors()
        await sign_in_page(http, "li.editor")
        page = (await http.get("/console/hit-test", params={"q": "结婚登记要带什么材料"})).text
        assert "意图 <strong>办事咨询</strong>" in page and "其他候选" in page
        record = await app.ctx.catalog.get_item("CD-0027")
        answer = page[page.index("群众将看到的回答"):]
        assert all(html.escape(m.name) in answer for m in record.item.materials)  # the guide's own words
        assert f"<code>CD-0027</code> 第 {record.version} 版" in answer  # the source it cites

        demand = (await http.get("/console/hit-test", params={"q": "我要投诉，小区门口的路灯坏了一个月都没人修"})).text
        assert "投诉建议求助" in demand and "试运行不会登记工单" in demand

        await app.ctx.search.flush_logs()
        for table in (chat_turns, search_queries, dialogue_sessions, demand_tickets):
            assert await count(app, table) == 0, table.name
