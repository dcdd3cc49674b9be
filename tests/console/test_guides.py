"""The console's guide, FAQ and synonym pages over real HTTP: a draft published from the console
reaches search, stale edits and publications over someone else's are conflicts that overwrite
nothing, roles and CSRF are enforced, whatever staff type is shown escaped, and an FAQ answer
edited in the console is what the assistant answers with."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from server import create_app
from tests.console.conftest import add_staff, csrf_of, sign_in_page
from tests.miniapp_api.conftest import serve

EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'



async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := await check()):
        assert time.monotonic() < deadline, "never happened"
        await asyncio.sleep(0.1)
    return result


def guide_form(document: dict[str, Any], csrf: str, *, revision: str = "", base_version: str = "",
               new: bool = False) -> dict[str, Any]:
    """The editor's form, filled as a person would fill it with ``document``."""
    materials, places = document.get("materials", []), document.get("places", [])
    online, phones = document.get("online") or {}, document.get("phones") or {}
    return {
        "csrf_token": csrf, "revision": revision, "base_version": base_version, "is_new": "1" if new else "",
        "code": document["code"], "name": document["name"], "aliases": "\n".join(document.get("aliases", [])),
        "department": document.get("department", ""), "item_type": document.get("item_type", ""),
        "audience": document.get("audience", []), "level": document.get("level", ""),
        "district": document.get("district", ""), "themes": "\n".join(document.get("themes", [])),
        "conditions": document.get("conditions", ""),
        "material_name": [m["name"] for m in materials] + [""], "material_form": [m.get("form") or "" for m in materials] + [""],
        "material_count": [str(m["count"]) if m.get("count") is not None else "" for m in materials] + [""],
        "material_required": ["true" if m.get("required", True) else "false" for m in materials] + ["true"],
        "material_notes": [m.get("notes", "") for m in materials] + [""],
        "legal_time_limit": document.get("legal_time_limit", ""), "promised_time_limit": document.get("promised_time_limit", ""),
        "fees": document.get("fees", ""), "place_name": [p["name"] for p in places],
        "place_address": [p.get("address", "") for p in places], "place_hours": [p.get("hours", "") for p in places],
        "phone_consult": phones.get("consult", ""), "phone_complaint": phones.get("complaint", ""),
        "online_available": "true" if online.get("available") else "false", "online_channel": online.get("channel", ""),
        "online_url": online.get("url", ""), "online_note": online.get("note", ""),
        "courier": {True: "true", False: "false"}.get(document.get("courier"), ""),
        "visits": "" if document.get("visits") is None else str(document["visits"]),
        "process": "\n".join(document.get("process", [])), "legal_basis": "\n".join(document.get("legal_basis", [])),
        "notes": document.get("notes", ""), "source_url": document.get("source_url", ""),
        "status": document.get("status", "active"), "valid_from": document.get("valid_from") or "",
        "valid_to": document.get("valid_to") or "",
    }


def hidden(page: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', page).group(1)


async def test_a_draft_published_from_the_console_reaches_search_and_conflicts_overwrite_nothing(app):
    async with serve(app) as http:
        await add_staff(app)
        catalog = app.ctx.catalog
        csrf = await sign_in_page(http, "li.editor")
        listed = await http.get("/console/guides", params={"q": "扯证"})
        assert listed.status_code == 200 and "/console/guides/CD-0027" in listed.text  # found by an alias
        edit_page = (await http.get("/console/guides/CD-0027/edit")).text
        assert 'name="material_name"' in edit_page and hidden(edit_page, "base_version") == "1"
        document = (await catalog.get_item("CD-0027")).item.model_dump(mode="json")
        form = guide_form({**document, "aliases": [*document["aliases"], "锦官城喜结连理"]}, csrf, base_version="1")

        forged = await http.post("/console/guides/save", data={**form, "csrf_token": ""})
        assert forged.status_code == 403 and await app.ctx.guide_drafts.get("CD-0027") is None
        saved = await http.post("/console/guides/save", data=form)
        assert saved.status_code == 303 and saved.headers["location"] == "/console/guides/CD-0027"
        assert (await catalog.get_item("CD-0027")).item.aliases == document["aliases"]  # a draft only
        detail = (await http.get("/console/guides/CD-0027")).text
        assert "草稿与现行版本的差异" in detail and "<ins>锦官城喜结连理</ins>" in detail
        assert "发布草稿" not in detail  # an editor is not offered publishing…
        refused = await http.post("/console/guides/CD-0027/publish", data={"csrf_token": csrf, "revision": "1"})
        assert refused.status_code == 403 and "不能进行此操作" in refused.text  # …and cannot do it
        assert (await catalog.get_item("CD-0027")).version == 1

        # two editors opened the same draft: the second save is refused and changes nothing
        edit_page = (await http.get("/console/guides/CD-0027/edit")).text
        stale = {**form, "revision": hidden(edit_page, "revision")}
        assert (await http.post("/console/guides/save", data={**stale, "fees": "第一位同事填写"})).status_code == 303
        second = await http.post("/console/guides/save", data={**stale, "fees": "第二位同事填写"})
        assert second.status_code == 409 and "草稿已被他人修改" in second.text
        assert "第二位同事填写" in second.text and csrf_of(second.text) == csrf  # what they typed is still there
        assert (await app.ctx.guide_drafts.get("CD-0027")).item.fees == "第一位同事填写"

        async with httpx.AsyncClient(base_url=http.base_url) as reviewer:
            reviewer_csrf = await sign_in_page(reviewer, "zhao.reviewer")
            page = (await reviewer.get("/console/guides/CD-0027")).text
            assert "发布草稿" in page and "修改草稿" not in page
            published = await reviewer.post("/console/guides/CD-0027/publish",
                                            data={"csrf_token": reviewer_csrf, "revision": hidden(page, "revision")})
            assert published.status_code == 303, published.text
            assert (await catalog.get_item("CD-0027")).version == 2
            assert await app.ctx.guide_drafts.get("CD-0027") is None

            async def found() -> bool:
                result = await app.ctx.search.search("锦官城喜结连理", channel=None)
                return bool(result.results) and result.results[0].code == "CD-0027"
            await eventually(found)
            history = (await reviewer.get("/console/guides/CD-0027")).text
            assert "第 1 版 → 第 2 版" in history and "<ins>锦官城喜结连理</ins>" in history

            # a draft based on version 2, while someone else publishes version 3: publishing it is refused
            edit_page = (await http.get("/console/guides/CD-0027/edit")).text
            assert (await http.post("/console/guides/save", data={**form, "base_version": hidden(edit_page, "base_version"),
                                                                   "notes": "编辑的草稿"})).status_code == 303
            current = (await catalog.get_item("CD-0027")).item
            await catalog.save_item(current.model_copy(update={"notes": "别人已发布"}), actor="wang.admin")
            page = (await reviewer.get("/console/guides/CD-0027")).text
            assert "而现行已是第 3 版" in page
            late = await reviewer.post("/console/guides/CD-0027/publish",
                                       data={"csrf_token": reviewer_csrf, "revision": hidden(page, "revision")})
            assert late.status_code == 409 and "有人在此期间发布了修改" in late.text
            record = await catalog.get_item("CD-0027")
            assert (record.version, record.item.notes) == (3, "别人已发布")
            assert (await app.ctx.guide_drafts.get("CD-0027")).item.notes == "编辑的草稿"
            older = (await reviewer.get("/console/guides/CD-0027", params={"from": "1", "to": "3"})).text
            assert "第 1 版 → 第 3 版" in older and "<ins>别人已发布</ins>" in older

        discarded = await http.post("/console/guides/CD-0027/discard", data={"csrf_token": csrf})
        assert discarded.status_code == 303 and await app.ctx.guide_drafts.get("CD-0027") is None
        assert (await http.get("/console/guides", params={"drafts": "1"})).text.count("/console/guides/CD-") == 0


async def test_html_typed_by_staff_is_escaped_everywhere_and_refusals_keep_what_was_typed(app):
    async with serve(app) as http:
        await add_staff(app)
        csrf = await sign_in_page(http, "wang.admin")
        item = {"code": "CD-9100", "name": f"测试事项{EVIL}", "aliases": [EVIL], "department": EVIL, "audience": ["法人"],
                "conditions": f"受理条件{EVIL}", "materials": [{"name": EVIL, "form": "原件", "count": 1, "notes": EVIL}],
                "places": [{"name": EVIL, "address": "天府大道", "hours": "工作日"}], "process": [EVIL]}
        bad = guide_form({**item, "visits": 11, "materials": [*item["materials"], {"name": "户口簿", "count": "两"}]},
                         csrf, new=True)
        blank = await http.get("/console/guides/new")
        assert blank.status_code == 200 and "新建事项" in blank.text and blank.text.count('name="material_name"') == 2
        refused = await http.post("/console/guides/save", data=bad)
        assert refused.status_code == 422
        assert "最多跑几次：不能大于 10" in refused.text and "申请材料 · 第 2 行 · 份数：应为整数" in refused.text
        assert 'value="两"' in refused.text and "&lt;script&gt;alert" in refused.text and "<script>alert" not in refused.text

        saved = await http.post("/console/guides/save", data=guide_form(item, csrf, new=True))
        assert saved.status_code == 303, saved.text
        taken = await http.post("/console/guides/save", data=guide_form({**item, "code": "CD-0001"}, csrf, new=True))
        assert taken.status_code == 409 and "编号 CD-0001 已被使用" in taken.text
        unpublished = (await http.get("/console/guides/CD-9100")).text
        assert "尚未发布" in unpublished and "<ins>&lt;script&gt;alert" in unpublished  # a new item: all additions
        async with httpx.AsyncClient(base_url=http.base_url) as reviewer:  # the admin saved it: not theirs to publish
            published = await reviewer.post("/console/guides/CD-9100/publish",
                                            data={"csrf_token": await sign_in_page(reviewer, "zhao.reviewer")})
        assert published.status_code == 303
        edit_page = (await http.get("/console/guides/CD-9100/edit")).text
        await http.post("/console/guides/save", data=guide_form({**item, "notes": EVIL, "name": f"改名{EVIL}"}, csrf,
                                                                base_version=hidden(edit_page, "base_version")))
        faq = {"csrf_token": csrf, "is_new": "1", "id": "faq-CD-9100-1", "question": f"问题{EVIL}", "answer": f"答案{EVIL}",
               "items": ["CD-9100", ""], "status": "active"}
        assert (await http.post("/console/faq/save", data=faq)).status_code == 303
        synonym = {"csrf_token": csrf, "action": "add", "colloquial": "<b>口语</b>", "official": EVIL[:100]}
        assert (await http.post("/console/synonyms", data=synonym)).status_code == 303
        for path in ("/console/guides?q=CD-9100", "/console/guides/CD-9100", "/console/guides/CD-9100/edit",
                     "/console/faq?item=CD-9100", "/console/faq/faq-CD-9100-1/edit", "/console/synonyms?q=口语"):
            page = await http.get(path)
            assert page.status_code == 200, path
            assert "<script>alert" not in page.text and "<img src=x" not in page.text and "<b>口语" not in page.text, path
            assert "&lt;script&gt;alert" in page.text or "&lt;b&gt;" in page.text, path
            assert 'style="' not in page.text and "<script>" not in page.text.replace(
                '<script src="/console/static/console.js"></script>', "").replace(
                '<script src="/console/static/guides.js"></script>', ""), path  # the CSP forbids inline ones
        detail = (await http.get("/console/guides/CD-9100")).text
        assert "<ins>改名</ins>&lt;script&gt;alert" in detail and "<ins>&lt;script&gt;alert" in detail  # the diff, escaped
        assert (await http.get("/console/static/guides.js")).status_code == 200


async def test_faq_and_synonyms_edited_in_the_console(app):
    async with serve(app) as http:
        await add_staff(app)
        csrf = await sign_in_page(http, "li.editor")
        listed = (await http.get("/console/faq", params={"item": "CD-0027"})).text
        assert "faq-CD-0027-1" in listed and "faq-CD-0001-1" not in listed
        edit_page = (await http.get("/console/faq/faq-CD-0027-1/edit")).text
        assert 'list="item-codes"' in edit_page and '<option value="CD-0027">结婚登记</option>' in edit_page
        entry, version = await app.ctx.catalog.faq_entry("faq-CD-0027-1")
        form = {"csrf_token": csrf, "id": entry.id, "question": entry.question, "answer": "第一位同事的答案",
                "items": entry.items, "status": "active", "version": str(version)}
        assert (await http.post("/console/faq/save", data=form)).status_code == 303
        stale = await http.post("/console/faq/save", data={**form, "answer": "第二位同事的答案"})
        assert stale.status_code == 409 and "已被他人修改" in stale.text and "第二位同事的答案" in stale.text
        assert (await app.ctx.catalog.faq_entry("faq-CD-0027-1"))[0].answer == "第一位同事的答案"
        unknown = await http.post("/console/faq/save", data={**form, "version": str(version + 1), "items": ["CD-0027", "NOPE-1"]})
        assert unknown.status_code == 422 and "没有这些事项：NOPE-1" in unknown.text
        assert (await app.ctx.catalog.faq_entry("faq-CD-0027-1"))[1] == version + 1
        assert (await http.post("/console/faq/save", data={**form, "csrf_token": "x"})).status_code == 403

        async def expanded(term: str, official: str) -> bool:
            return official in (await app.ctx.search.search(term, channel=None)).expansions

        added = await http.post("/console/synonyms", data={"csrf_token": csrf, "action": "add",
                                                            "colloquial": "打结婚证", "official": "结婚登记"})
        assert added.status_code == 303 and "<td>打结婚证</td>" in (await http.get("/console/synonyms?q=打结婚证")).text
        await eventually(lambda: expanded("打结婚证", "结婚登记"))
        again = await http.post("/console/synonyms", data={"csrf_token": csrf, "action": "add",
                                                            "colloquial": "打结婚证", "official": "离婚登记"})
        assert again.status_code == 409 and "已对应“结婚登记”" in again.text
        changed = await http.post("/console/synonyms", data={"csrf_token": csrf, "action": "change",
                                                              "colloquial": "打结婚证", "official": "婚姻登记"})
        assert changed.status_code == 303
        await eventually(lambda: expanded("打结婚证", "婚姻登记"))
        retired = await http.post("/console/synonyms", data={"csrf_token": csrf, "action": "retire",
                                                              "colloquial": "打结婚证", "official": "婚姻登记"})
        assert retired.status_code == 303 and "<td>打结婚证</td>" not in (await http.get("/console/synonyms?q=打结婚证")).text

        async def forgotten() -> bool:
            return not await expanded("打结婚证", "婚姻登记")
        await eventually(forgotten)
        async with httpx.AsyncClient(base_url=http.base_url) as approver:
            approver_csrf = await sign_in_page(approver, "sun.approver")
            denied = await approver.post("/console/synonyms", data={"csrf_token": approver_csrf, "action": "add",
                                                                     "colloquial": "扯个证", "official": "结婚登记"})
            assert denied.status_code == 403


async def test_an_faq_answer_edited_in_the_console_is_what_the_assistant_answers(test_settings):
    app = create_app(test_settings.with_overrides(assistant=True))
    question = "户口不在成都，能在成都领结婚证吗？"
    async with serve(app) as http:
        await add_staff(app)
        await eventually(lambda: asyncio.sleep(0, result=app.ctx.dialogue is not None), timeout=300)  # cold cache: minutes
        before = (await http.post("/api/v1/chat", json={"text": question})).json()["reply"]
        assert {"type": "faq", "id": "faq-CD-0027-1"}.items() <= before["sources"][0].items()
        csrf = await sign_in_page(http, "li.editor")
        entry, version = await app.ctx.catalog.faq_entry("faq-CD-0027-1")
        answer = "可以。内地居民凭居民身份证即可在成都任一婚姻登记处办理（控制台修改后的答案）。"
        saved = await http.post("/console/faq/save", data={"csrf_token": csrf, "id": entry.id, "question": entry.question,
                                                          "answer": answer, "items": entry.items, "status": "active",
                                                          "version": str(version)})
        assert saved.status_code == 303
        reply = (await http.post("/api/v1/chat", json={"text": question})).json()["reply"]
        assert answer in reply["text"]
        assert reply["sources"][0] == {"type": "faq", "id": "faq-CD-0027-1", "name": entry.question,
                                       "version": version + 1}


async def test_whoever_saved_any_revision_of_a_guide_draft_cannot_publish_it(app):
    """Issue 15, item 7: the admin writes a guide change, an editor re-saves it unchanged; the admin
    is neither offered publishing nor allowed it, a reviewer who never saved it publishes it."""
    async with serve(app) as http:
        await add_staff(app)
        catalog = app.ctx.catalog
        admin_csrf = await sign_in_page(http, "wang.admin")
        document = (await catalog.get_item("CD-0027")).item.model_dump(mode="json")
        written = await http.post("/console/guides/save", data=guide_form({**document, "fees": "管理员写的收费说明"},
                                                                          admin_csrf, base_version="1"))
        assert written.status_code == 303, written.text

        async with httpx.AsyncClient(base_url=http.base_url) as editor:
            editor_csrf = await sign_in_page(editor, "li.editor")
            edit_page = (await editor.get("/console/guides/CD-0027/edit")).text
            draft = (await app.ctx.guide_drafts.get("CD-0027")).item.model_dump(mode="json")
            resaved = await editor.post("/console/guides/save", data=guide_form(
                draft, editor_csrf, revision=hidden(edit_page, "revision"), base_version=hidden(edit_page, "base_version")))
            assert resaved.status_code == 303, resaved.text
        draft = await app.ctx.guide_drafts.get("CD-0027")
        assert (draft.revision, draft.author, draft.item.fees) == (2, "li.editor", "管理员写的收费说明")

        page = (await http.get("/console/guides/CD-0027")).text
        assert "发布草稿" not in page and "您保存过这份草稿，须由其他审核人员发布" in page
        assert "修改人 wang.admin、li.editor" in page
        own = await http.post("/console/guides/CD-0027/publish", data={"csrf_token": admin_csrf, "revision": "2"})
        assert own.status_code == 403 and "不能发布自己参与的修改" in own.text and "wang.admin、li.editor" in own.text
        assert (await catalog.get_item("CD-0027")).version == 1 and await app.ctx.guide_drafts.get("CD-0027")

        async with httpx.AsyncClient(base_url=http.base_url) as reviewer:
            reviewer_csrf = await sign_in_page(reviewer, "zhao.reviewer")
            page = (await reviewer.get("/console/guides/CD-0027")).text
            assert "发布草稿" in page
            published = await reviewer.post("/console/guides/CD-0027/publish",
                                            data={"csrf_token": reviewer_csrf, "revision": hidden(page, "revision")})
            assert published.status_code == 303, published.text
        record = await catalog.get_item("CD-0027")
        assert (record.version, record.item.fees) == (2, "管理员写的收费说明")
