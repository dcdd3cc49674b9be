"""The unanswered questions page over real HTTP: groups of similar questions, and each way of
closing a group (转为常见问题, 添加同义词, 忽略) making it disappear, creating what it says, and
leaving an audit entry; roles, CSRF and escaping."""

from __future__ import annotations

import re
from datetime import timedelta

from assistant.unanswered import text_hash
from store.tables.base import utcnow
from store.tables.dialogue import chat_turns
from store.tables.search import search_queries
from tests.console.conftest import add_staff, sign_in_page
from tests.miniapp_api.conftest import serve

EVIL = '<script>alert("x")</script>怎么办'
ASKED = [("考研报名在哪里报", 3), ("考研报名去哪报名", 2), ("宠物狗办证在哪办", 2), ("养狗要办什么证", 1),
         ("火星移民签证怎么申请", 1), (EVIL, 1)]



async def seed(app) -> None:  # type: ignore[no-untyped-def]
    async with app.ctx.db.transaction() as conn:
        for text, times in ASKED:
            for n in range(times):
                if n == 1:  # one of them through the search box
                    await conn.execute(search_queries.insert().values(
                        at=utcnow() - timedelta(hours=n), channel="miniapp", query=text, normalized=text,
                        result_count=0, confidence=0.1, no_good_match=True, took_ms=2.0))
                    continue
                await conn.execute(chat_turns.insert().values(
                    at=utcnow() - timedelta(hours=n), session_key="wechat:o1", channel="wechat", text=text,
                    intent="consult", confidence=0.4, sources=[], reply="…", no_answer=True,
                    needs_clarification=False, kb_version=1, latency_ms=4.0))


def group_of(page: str, representative: str) -> dict[str, list[str] | str]:
    """The hidden fields every action of a group's section posts."""
    sections = re.findall(r'<section class="card unanswered-group".*?</section>', page, re.S)
    section = next(s for s in sections if f"次</span> {representative}</h2>" in s)
    return {"hash": list(dict.fromkeys(re.findall(r'name="hash" value="([0-9a-f]{64})"', section))),
            "representative": representative, "from": re.search(r'name="from" value="([^"]+)"', section).group(1),
            "to": re.search(r'name="to" value="([^"]+)"', section).group(1)}


def representatives(page: str) -> list[str]:
    return re.findall(r'<span class="count">\d+ 次</span> (.*?)</h2>', page)


async def test_groups_and_each_way_of_closing_one(app):
    async with serve(app) as http:
        await add_staff(app)
        await seed(app)
        csrf = await sign_in_page(http, "li.editor")
        page = (await http.get("/console/unanswered")).text
        assert representatives(page)[:2] == ["考研报名在哪里报", "宠物狗办证在哪办"]
        assert "5 次</span> 考研报名在哪里报" in page and "考研报名去哪报名" in page  # the rewording is in the group
        assert "<script>alert" not in page and "&lt;script&gt;alert(" in page  # what citizens typed, as text
        exam = group_of(page, "考研报名在哪里报")
        assert len(exam["hash"]) == 2
        assert 'name="question" value="考研报名在哪里报"' in page  # the FAQ form is prefilled

        # an FAQ without an answer is refused, with what was typed kept
        form = {**exam, "csrf_token": csrf, "faq_id": "faq-u-kaoyan", "question": "考研报名在哪里报？",
                "items": "CD-0027", "answer": ""}
        refused = await http.post("/console/unanswered/faq", data=form)
        assert refused.status_code == 422 and "答案" in refused.text and 'value="faq-u-kaoyan"' in refused.text
        answer = "研究生考试报名不在本平台办理，请登录中国研究生招生信息网报名。"
        saved = await http.post("/console/unanswered/faq", data={**form, "answer": answer})
        assert saved.status_code == 303, saved.text
        page = (await http.get(saved.headers["location"])).text
        assert "已创建常见问题 faq-u-kaoyan" in page and "考研报名在哪里报" not in representatives(page)
        entry, version = await app.ctx.catalog.faq_entry("faq-u-kaoyan")
        assert entry.answer == answer and entry.items == ["CD-0027"] and version == 1
        handled = await app.ctx.audit.entries(target_type="unanswered")
        assert handled[0]["action"] == "unanswered.faq" and handled[0]["actor"] == "li.editor"
        assert handled[0]["after"]["target"] == "faq-u-kaoyan" and handled[0]["after"]["texts"] == 2
        assert (await app.ctx.audit.entries(target_type="faq", target_id="faq-u-kaoyan"))[0]["actor"] == "li.editor"

        dog = group_of(page, "宠物狗办证在哪办")
        saved = await http.post("/console/unanswered/synonym", data={
            **dog, "csrf_token": csrf, "colloquial": "狗证", "official": "犬只登记"})
        assert saved.status_code == 303
        page = (await http.get(saved.headers["location"])).text
        assert "宠物狗办证在哪办" not in representatives(page)
        assert any(s.colloquial == "狗证" and s.official == "犬只登记" for s in await app.ctx.catalog.synonyms())
        assert (await app.ctx.audit.entries(target_type="unanswered"))[0]["action"] == "unanswered.synonym"

        mars = group_of(page, "火星移民签证怎么申请")
        dismissed = await http.post("/console/unanswered/dismiss", data={**mars, "csrf_token": csrf})
        assert dismissed.status_code == 303
        page = (await http.get(dismissed.headers["location"])).text
        assert "火星移民签证怎么申请" not in representatives(page) and len(representatives(page)) == 1
        assert (await app.ctx.audit.entries(target_type="unanswered"))[0]["action"] == "unanswered.dismissed"


async def test_roles_and_csrf_guard_the_actions(app):
    async with serve(app) as http:
        await add_staff(app)
        await seed(app)
        csrf = await sign_in_page(http, "zhao.reviewer")  # may look, may not edit FAQ or synonyms
        page = await http.get("/console/unanswered/", params={"from": "2020-01-01", "to": "2020-01-31"})
        assert page.status_code == 200 and "这段时间没有未解决的问题" in page.text
        page = (await http.get("/console/unanswered")).text
        assert "考研报名在哪里报" in page and "<summary>转为常见问题" not in page and "忽略</button>" not in page
        assert "您的角色只能查看" in page
        # the fields a form of the group would post (this role sees no forms)
        exam = {"hash": [text_hash("考研报名在哪里报"), text_hash("考研报名去哪报名")], "representative": "考研报名在哪里报"}
        form = {**exam, "csrf_token": csrf, "faq_id": "faq-u-x", "question": "考研", "answer": "不办", "items": ""}
        refused = await http.post("/console/unanswered/faq", data=form)
        assert refused.status_code == 403 and "不能进行此操作" in refused.text
        assert (await http.post("/console/unanswered/dismiss", data={**exam, "csrf_token": csrf})).status_code == 403
        assert await app.ctx.catalog.faq_entry("faq-u-x") is None

        await http.post("/console/logout", data={"csrf_token": csrf})
        csrf = await sign_in_page(http, "li.editor")
        forged = await http.post("/console/unanswered/dismiss", data=exam)  # no CSRF token
        assert forged.status_code == 403 and "页面已过期或来源不明" in forged.text
        assert "考研报名在哪里报" in representatives((await http.get("/console/unanswered")).text)
        assert await app.ctx.audit.entries(target_type="unanswered") == []
        bad_date = await http.get("/console/unanswered/", params={"from": "2026-13-40"})
        assert bad_date.status_code == 400
