"""The console's pages over real HTTP: signing in, CSRF on every form, roles on every page,
escaping of whatever staff type, and stale edits shown as conflicts that overwrite nothing."""

from __future__ import annotations

import re

import httpx

from tests.console.conftest import PASSWORD, add_staff, csrf_of, sign_in_page
from tests.miniapp_api.conftest import serve

ITEM_FORM = {"kind": "item", "node_id": "item:cd-test-award", "name": "测试奖励", "is_new": "1",
             "data.category": "奖补", "data.delivery": "申报", "data.benefit": "奖励 10 万元",
             "condition": '{"all": [{"fact": "invention_patents", "op": ">=", "value": 1, "clause": "第五条"}]}'}


async def test_signing_in_sets_a_strict_httponly_cookie_and_signing_out_ends_it(app):
    async with serve(app) as http:
        await add_staff(app)
        first = await http.get("/console/policy/", follow_redirects=False)
        assert first.status_code == 303 and first.headers["location"] == "/console/login?next=/console/policy/"
        no_token = await http.post("/console/login", data={"username": "li.editor", "password": PASSWORD})
        assert no_token.status_code == 403 and "页面已过期" in no_token.text
        csrf = await sign_in_page(http, "li.editor")
        home = await http.get("/console/")
        assert "李编辑（编辑）" in home.text and "人员管理" not in home.text  # the menu follows the role
        signed_out = await http.post("/console/logout", data={"csrf_token": csrf})
        assert signed_out.status_code == 303
        assert (await http.get("/console/", follow_redirects=False)).status_code == 303


async def test_the_session_cookie_is_httponly_and_samesite_strict(app):
    async with serve(app) as http:
        await add_staff(app)
        form = await http.get("/console/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        answer = await http.post("/console/login", data={"username": "li.editor", "password": PASSWORD,
                                                         "csrf_token": token})
        set_cookie = [h for h in answer.headers.get_list("set-cookie") if h.startswith("ryb_staff=")][0].lower()
        assert "httponly" in set_cookie and "samesite=strict" in set_cookie and "path=/" in set_cookie
        form = await http.get("/console/login")  # the form's token is used up by a sign-in
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        wrong = await http.post("/console/login", data={"username": "li.editor", "password": "wrong-password-1",
                                                        "csrf_token": token})
        assert wrong.status_code == 401 and "用户名或密码不正确" in wrong.text


async def test_forms_without_the_csrf_token_or_from_another_role_are_refused(app):
    async with serve(app) as http:
        await add_staff(app)
        csrf = await sign_in_page(http, "li.editor")
        forged = await http.post("/console/policy/save", data=ITEM_FORM)
        assert forged.status_code == 403 and "页面已过期或来源不明" in forged.text
        assert await app.ctx.policy_graph.get("item:cd-test-award") is None
        saved = await http.post("/console/policy/save", data={**ITEM_FORM, "csrf_token": csrf})
        assert saved.status_code == 303 and saved.headers["location"] == "/console/policy/nodes/item:cd-test-award"
        await http.post("/console/policy/nodes/item:cd-test-award/submit", data={"csrf_token": csrf})
        approve = await http.post("/console/policy/nodes/item:cd-test-award/approve", data={"csrf_token": csrf})
        assert approve.status_code == 403 and "不能进行此操作" in approve.text
        assert (await app.ctx.policy_graph.get("item:cd-test-award")).state == "in_review"
        assert (await http.get("/console/staff")).status_code == 403


async def test_the_node_page_offers_no_review_to_whoever_saved_a_revision_and_refuses_it(app):
    async with serve(app) as http:
        await add_staff(app)
        csrf = await sign_in_page(http, "wang.admin")
        assert (await http.post("/console/policy/save", data={**ITEM_FORM, "csrf_token": csrf})).status_code == 303
        async with httpx.AsyncClient(base_url=http.base_url) as editor:  # re-saves it unchanged and submits it
            editor_csrf = await sign_in_page(editor, "li.editor")
            edit_page = (await editor.get("/console/policy/nodes/item:cd-test-award/edit")).text
            revision = re.search(r'name="revision" value="(\d+)"', edit_page).group(1)
            resaved = await editor.post("/console/policy/save", data={**ITEM_FORM, "csrf_token": editor_csrf,
                                                                       "is_new": "", "revision": revision})
            assert resaved.status_code == 303
            await editor.post("/console/policy/nodes/item:cd-test-award/submit", data={"csrf_token": editor_csrf})
        page = (await http.get("/console/policy/nodes/item:cd-test-award")).text
        assert "审核通过" not in page and "您保存过这一版本，须由其他审核人员审核" in page
        assert "修改人 wang.admin、li.editor" in page
        own = await http.post("/console/policy/nodes/item:cd-test-award/approve", data={"csrf_token": csrf})
        assert own.status_code == 403 and "不能审核自己参与的修改" in own.text and "wang.admin、li.editor" in own.text
        assert (await app.ctx.policy_graph.get("item:cd-test-award")).state == "in_review"


async def test_html_typed_by_staff_is_shown_as_text_everywhere(app):
    async with serve(app) as http:
        await add_staff(app)
        csrf = await sign_in_page(http, "li.editor")
        evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
        form = {**ITEM_FORM, "csrf_token": csrf, "name": evil, "data.benefit": evil}
        assert (await http.post("/console/policy/save", data=form)).status_code == 303
        for path in ("/console/policy/nodes/item:cd-test-award", "/console/policy/?kind=item",
                     "/console/policy/nodes/item:cd-test-award/edit"):
            page = (await http.get(path)).text
            assert "<script>alert" not in page and "<img src=x" not in page, path
            assert "&lt;script&gt;alert" in page, path


async def test_a_stale_edit_is_shown_as_a_conflict_and_overwrites_nothing(app):
    async with serve(app) as http:
        await add_staff(app)
        csrf = await sign_in_page(http, "li.editor")
        await http.post("/console/policy/save", data={**ITEM_FORM, "csrf_token": csrf})
        edit_page = (await http.get("/console/policy/nodes/item:cd-test-award/edit")).text
        revision = re.search(r'name="revision" value="(\d+)"', edit_page).group(1)
        edit = {**ITEM_FORM, "csrf_token": csrf, "is_new": "", "revision": revision}
        first = await http.post("/console/policy/save", data={**edit, "name": "第一位同事的修改"})
        assert first.status_code == 303
        second = await http.post("/console/policy/save", data={**edit, "name": "第二位同事的修改"})
        assert second.status_code == 409 and "草稿已被他人修改" in second.text
        assert 'value="第二位同事的修改"' in second.text  # what they typed is still there
        assert (await app.ctx.policy_graph.get("item:cd-test-award")).name == "第一位同事的修改"
        again = await http.post("/console/policy/save", data={**ITEM_FORM, "csrf_token": csrf})
        assert again.status_code == 409 and "已被使用" in again.text  # a new node may not reuse an id


async def test_a_bad_condition_is_shown_with_its_path_and_the_typed_form_kept(app):
    async with serve(app) as http:
        await add_staff(app)
        csrf = await sign_in_page(http, "li.editor")
        bad = {**ITEM_FORM, "csrf_token": csrf,
               "condition": '{"all": [{"fact": "established_on", "op": ">=", "value": 3}]}'}
        refused = await http.post("/console/policy/save", data=bad)
        assert refused.status_code == 422 and "all[0].op" in refused.text
        assert 'value="测试奖励"' in refused.text
        assert csrf_of(refused.text) == csrf


def console_routes(app) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Every console page and action as (method, path), each path parameter given a value its
    pattern accepts."""
    samples = ["item:cd-none", "CD-0021", "faq-CD-0021-1", "SQ20260101000001", "12345260101000001", "li.editor", "1",
               "0123456789abcdef0123456789abcdef"]

    def value(match: re.Match) -> str:
        pattern = match.group(2) or "str"
        if pattern == "int":
            return "1"
        if re.fullmatch(r"[a-z\-]+(\|[a-z\-]+)+", pattern):  # an action: the first of its choices
            return pattern.split("|")[0]
        return next(v for v in samples if pattern == "str" or re.fullmatch(pattern, v))

    routes = []
    for route in app.router.routes:
        path = "/" + route.path
        if path.startswith("/console") and not path.startswith(("/console/static", "/console/login")):
            path = re.sub(r"<([a-z_]+)(?::([^>]*))?>", value, path)
            routes += [(method, path) for method in route.methods if method in ("GET", "POST")]
    return sorted(set(routes))


async def test_every_console_page_and_action_needs_a_session_and_every_action_its_csrf_token(app):
    async with serve(app) as http:
        await add_staff(app)
        routes = console_routes(app)
        assert len(routes) > 35
        for method, path in routes:
            answer = await http.request(method, path, follow_redirects=False)
            assert answer.status_code == 303 and answer.headers["location"].startswith("/console/login"), (method, path)
        await sign_in_page(http, "wang.admin")  # an admin may do everything: only the token is missing
        for method, path in routes:
            if method == "POST":
                answer = await http.post(path, data={"comment": "x"}, follow_redirects=False)
                assert answer.status_code == 403 and "页面已过期或来源不明" in answer.text, path
