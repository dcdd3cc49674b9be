"""The console in a real browser (Debian's Chromium, driven by Playwright), on one app with the
assistant built: an editor changes an FAQ answer and the assistant answers with it; an editor
builds a policy item's conditions with the editor, another staff member approves and publishes
it, and the item page shows the enterprises it matches; every main page fits 1366×768.
Screenshots of the main pages are kept as artefacts."""

from __future__ import annotations

import asyncio

import pytest

from server import create_app
from tests.console.conftest import PASSWORD, TRUE_FIRM, add_staff, load_firms
from tests.e2e.browser import chromium, new_page, no_horizontal_scroll, screenshot
from tests.helpers import wait_until
from tests.miniapp_api.conftest import serve


async def sign_in(page, username: str) -> None:  # type: ignore[no-untyped-def]
    await page.goto("/console/login")
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url("**/console/")


FAQ_QUESTION = "户口不在成都，能在成都领结婚证吗？"  # faq-CD-0027-1 of our demo content
NEW_ANSWER = "可以。自2025年起婚姻登记全国通办，凭双方身份证即可在成都任一婚姻登记处办理（浏览器测试改写）。"
MAIN_PAGES = {"guides": "/console/guides", "guide-editor": "/console/guides/CD-0021/edit", "faq": "/console/faq",
              "synonyms": "/console/synonyms", "hit-test": f"/console/hit-test?q={FAQ_QUESTION}",
              "hit-test-batch": "/console/hit-test/batch", "unanswered": "/console/unanswered",
              "workbench": "/console/workbench", "operations": "/console/operations",
              "analytics": "/console/analytics", "staff": "/console/staff"}


@pytest.mark.slow  # drives a real browser
async def test_staff_edit_an_faq_and_publish_a_policy_item_in_the_browser(test_settings):
    app = create_app(test_settings.with_overrides(assistant=True))
    async with serve(app) as http, chromium() as browser:
        await add_staff(app)
        await load_firms(app)
        base = str(http.base_url)
        editor = await new_page(browser, base)
        await editor.goto("/console/policy/")
        await screenshot(editor, "01-login")
        await sign_in(editor, "li.editor")
        await screenshot(editor, "02-home-editor")

        await editor.goto("/console/faq/faq-CD-0027-1/edit")
        await editor.get_by_label("答案").fill(NEW_ANSWER)
        await screenshot(editor, "03-faq-editor")
        await editor.get_by_role("button", name="保存").click()
        await editor.wait_for_selector(".notice")
        await wait_until(lambda: app.ctx.dialogue is not None, timeout=300)  # built in the background at start
        await editor.goto(f"/console/hit-test?q={FAQ_QUESTION}")  # the answer the assistant would give
        assert NEW_ANSWER in await editor.inner_text("main")
        await screenshot(editor, "04-hit-test-faq")
        chat = await http.post("/api/v1/chat", json={"text": FAQ_QUESTION})  # and what a citizen gets
        assert NEW_ANSWER in chat.json()["reply"]["text"]

        await editor.goto("/console/policy/new?kind=item")
        await editor.get_by_label("编号").fill("item:cd-browser-patent")
        await editor.get_by_label("名称", exact=True).fill("发明专利授权奖励（浏览器测试）")
        await editor.get_by_label("类别").select_option("奖补")
        await editor.get_by_label("兑现方式").select_option("免申即享")
        await editor.get_by_label("支持内容（奖励标准）").fill("每件发明专利奖励 3000 元")
        conditions = editor.locator("#condition-editor")
        # the first row starts as 工商注册地; make it 属于 成都 (510100), from 第二条
        await conditions.get_by_label("代码").first.fill("510100")
        await conditions.get_by_label("代码").first.press("Tab")
        await conditions.get_by_label("出处条款").first.fill("第二条")
        await conditions.get_by_label("出处条款").first.press("Tab")
        await conditions.get_by_role("button", name="＋ 条件").click()
        await conditions.get_by_label("数据项").nth(1).select_option("invention_patents")
        await conditions.get_by_label("比较方式").nth(1).select_option(">=")
        await conditions.get_by_label("值", exact=True).fill("1")
        await conditions.get_by_label("值", exact=True).press("Tab")
        await conditions.get_by_label("出处条款").nth(1).fill("第五条")
        await conditions.get_by_label("出处条款").nth(1).press("Tab")
        assert await no_horizontal_scroll(editor)
        await screenshot(editor, "05-policy-item-editor")
        await editor.get_by_role("button", name="保存草稿").click()
        await editor.wait_for_url("**/console/policy/nodes/item:cd-browser-patent")
        assert "草稿已保存" in await editor.inner_text(".notice")
        words = await editor.inner_text(".words")
        assert "工商注册地" in words and "有效发明专利数" in words and "第五条" in words
        await editor.get_by_role("button", name="提交审核").click()
        await editor.wait_for_selector("text=已提交审核")
        assert await editor.get_by_role("button", name="审核通过").count() == 0  # an editor cannot approve

        reviewer = await new_page(browser, base)
        await sign_in(reviewer, "zhao.reviewer")
        await reviewer.goto("/console/policy/review")
        await screenshot(reviewer, "06-review-queue")
        await reviewer.get_by_role("link", name="发明专利授权奖励（浏览器测试）").click()
        await reviewer.get_by_role("button", name="审核通过").click()
        await reviewer.wait_for_selector("text=已审核通过，待发布")
        await reviewer.get_by_role("button", name="发布").click()
        await reviewer.wait_for_selector("text=已发布，正在重新匹配企业")

        async def matched() -> bool:  # publishing wakes the matching loop
            await reviewer.reload()
            return bool(await reviewer.locator("#matches").count())

        await wait_until(matched, interval=0.2)
        matches = await reviewer.inner_text("#matches")
        assert "符合 1 家" in matches and "待确认 1 家" in matches and TRUE_FIRM in matches
        assert await reviewer.locator("svg[role=img]").count() == 1  # the neighbourhood picture
        assert await no_horizontal_scroll(reviewer)
        await screenshot(reviewer, "07-policy-item-published")
        async with reviewer.expect_download() as download:
            await reviewer.get_by_role("link", name="导出免申即享名单（CSV）").click()
        exported = await (await download.value).path()
        assert TRUE_FIRM in (await asyncio.to_thread(lambda: open(exported, encoding="utf-8-sig").read()))
        await reviewer.goto("/console/policy/?kind=item")
        await screenshot(reviewer, "08-policy-list")

        admin = await new_page(browser, base)
        await sign_in(admin, "wang.admin")
        for n, (name, path) in enumerate(MAIN_PAGES.items(), 9):
            response = await admin.goto(path)
            assert response.status == 200, path
            assert await no_horizontal_scroll(admin), path
            await screenshot(admin, f"{n:02d}-{name}")
