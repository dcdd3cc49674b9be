"""The analytics dashboard over real HTTP: every section drawn and tabled for the default range,
typed texts escaped, a bad range refused with a clear message, and each section's CSV export
(UTF-8 with a BOM, exactly the rows of the range, formulas defused, nothing personal)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from china_time import CHINA
from store.tables.dialogue import chat_turns, demand_tickets
from store.tables.search import search_queries
from tests.console.conftest import add_staff, sign_in_page
from tests.miniapp_api.conftest import serve


async def seed(app) -> datetime:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC).replace(microsecond=0)
    rows = [("社保卡补办", 3), ("社保卡补办", 0), ("<script>alert(1)</script>", 0), ("=HYPERLINK(\"http://x\")", 1)]
    async with app.ctx.db.transaction() as conn:
        await conn.execute(search_queries.insert(), [
            dict(at=now - timedelta(seconds=n), channel="miniapp", query=text, normalized=text, result_count=count,
                 top_code=None, confidence=0.4, no_good_match=count == 0, took_ms=2.0)
            for n, (text, count) in enumerate(rows)])
        await conn.execute(search_queries.insert().values(  # 40 days ago: outside the default range
            at=now - timedelta(days=40), channel="miniapp", query="旧的", normalized="旧的", result_count=1,
            top_code=None, confidence=0.9, no_good_match=False, took_ms=2.0))
        await conn.execute(chat_turns.insert().values(
            at=now, session_key="miniapp:secret-session", channel="miniapp", text="问", intent="consult",
            confidence=0.9, sources=[], reply="答", no_answer=False, needs_clarification=False, kb_version=1,
            latency_ms=3.0, helpful=True))
        await conn.execute(demand_tickets.insert().values(
            number="12345260501000901", created_at=now, updated_at=now, session_key="miniapp:secret-session",
            channel="miniapp", category="<i>城乡建设</i>", category_confidence=0.8, district=None, summary="摘要",
            text="内容", contact_consent=False, status="received"))
    return now


async def test_the_dashboard_and_its_csv_exports(app):
    async with serve(app) as http:
        await add_staff(app)
        now = await seed(app)
        assert (await http.get("/console/analytics", follow_redirects=False)).status_code == 303  # sign in first
        await sign_in_page(http, "li.editor")  # analytics.view is every role's
        page = await http.get("/console/analytics")
        assert page.status_code == 200 and page.text.count("<svg") >= 10
        assert "<script>alert(1)" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
        assert "<i>城乡建设" not in page.text and "&lt;i&gt;城乡建设&lt;/i&gt;" in page.text
        assert "secret-session" not in page.text and "旧的" not in page.text
        assert 'style="' not in page.text and "<script>" not in page.text.split("</main>")[0]
        assert "/console/analytics.csv?section=top_queries&amp;from=" in page.text

        for query, message in (("from=2026-05-10&to=2026-05-01", "开始日期不能晚于结束日期"),
                               ("from=2026-13-01", "日期格式应为 YYYY-MM-DD"), ("from=2020-01-01", "一次最多统计 366 天")):
            refused = await http.get(f"/console/analytics?{query}")
            assert refused.status_code == 400 and message in refused.text, query
            assert "<svg" not in refused.text

        today = now.astimezone(CHINA).date()
        exported = await http.get(f"/console/analytics.csv?section=top_queries&from={today - timedelta(days=1)}"
                                  f"&to={today}")
        assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
        assert exported.content.startswith(b"\xef\xbb\xbf") and "attachment" in exported.headers["content-disposition"]
        table = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
        assert table[0] == ["搜索词", "次数", "无结果次数"]
        assert sorted(table[1:]) == sorted([["社保卡补办", "2", "1"], ["<script>alert(1)</script>", "1", "1"],
                                            ["'=HYPERLINK(\"http://x\")", "1", "0"]])
        queries = list(csv.reader(io.StringIO((await http.get("/console/analytics.csv?section=queries")).text
                                              .lstrip("\ufeff"))))
        assert len(queries) == 31 and queries[-1] == [today.isoformat(), "4", "1"]
        demands = (await http.get("/console/analytics.csv?section=demands")).content.decode("utf-8-sig")
        assert "secret-session" not in demands and "<i>城乡建设</i>" in demands
        assert (await http.get("/console/analytics.csv?section=users")).status_code == 400
        bad = await http.get("/console/analytics.csv?section=queries&from=2026-05-10&to=2026-05-01")
        assert bad.status_code == 400 and "开始日期不能晚于结束日期" in bad.text
