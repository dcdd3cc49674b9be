"""The staff policy API over real HTTP: drafts, review by someone else, publishing, matching that
reruns on publish, the 免申即享 list as JSON and CSV, and the refusals on the way."""

from __future__ import annotations

import csv
import io
from datetime import date

from console.policy_api import automatic_csv
from policy_graph.graph import NodeVersion
from tests.console.conftest import TRUE_FIRM, UNKNOWN_FIRM, add_staff, bearer, load_firms
from tests.helpers import wait_until, walk_pages
from tests.miniapp_api.conftest import serve

ITEM = "/api/v1/staff/policy/nodes/item:cd-patent-grant"
CONDITION = {"all": [
    {"fact": "registered_district", "op": "under", "value": ["510100"], "clause": "第二条"},
    {"fact": "invention_patents", "op": ">=", "value": 1, "clause": "第五条"},
]}
DRAFT = {"kind": "item", "name": "发明专利授权资助", "condition": CONDITION,
         "data": {"category": "奖补", "delivery": "免申即享", "benefit": "每件发明专利资助3000元"}}


async def until_matched(http, headers, expected: int) -> dict:  # type: ignore[no-untyped-def]
    """Publishing wakes the matching loop; wait for it to have matched every enterprise."""
    answers = []

    async def matched() -> bool:
        answers.append(answer := await http.get(f"{ITEM.replace('nodes', 'items')}/matches", headers=headers))
        return answer.status_code == 200 and sum(answer.json()["counts"].values()) == expected

    await wait_until(matched, interval=0.1)
    return answers[-1].json()


async def test_an_item_goes_from_draft_through_review_to_published_and_matches(app):
    async with serve(app) as http:
        await add_staff(app)
        await load_firms(app)
        editor, reviewer = await bearer(http, "li.editor"), await bearer(http, "zhao.reviewer")

        saved = await http.put(ITEM, json=DRAFT, headers=editor)
        assert saved.status_code == 200 and (saved.json()["state"], saved.json()["revision"]) == ("draft", 1)
        stale = await http.put(ITEM, json={**DRAFT, "name": "改名"}, headers=editor)  # no revision: not read first
        assert stale.status_code == 409 and stale.json()["error"]["code"] == "stale_draft"
        edited = await http.put(ITEM, json={**DRAFT, "revision": 1}, headers=editor)
        assert edited.json()["revision"] == 2

        assert (await http.post(f"{ITEM}/submit", headers=editor)).json()["state"] == "in_review"
        queue = (await http.get("/api/v1/staff/policy/review-queue", headers=reviewer)).json()
        assert [n["id"] for n in queue["items"]] == ["item:cd-patent-grant"]
        not_a_reviewer = await http.post(f"{ITEM}/review", json={"approve": True}, headers=editor)
        assert not_a_reviewer.status_code == 403 and not_a_reviewer.json()["error"]["code"] == "permission_denied"
        early = await http.post(f"{ITEM}/publish", headers=reviewer)
        assert early.status_code == 409 and early.json()["error"]["code"] == "not_approved"
        approved = await http.post(f"{ITEM}/review", json={"approve": True}, headers=reviewer)
        assert (approved.json()["state"], approved.json()["reviewer"]) == ("approved", "zhao.reviewer")
        published = await http.post(f"{ITEM}/publish", headers=reviewer)
        assert published.json()["state"] == "published"

        matched = await until_matched(http, reviewer, expected=3)
        assert matched["counts"] == {"true": 1, "false": 1, "unknown": 1}
        assert [e["uscc"] for e in matched["true"]] == [TRUE_FIRM]
        [unknown] = matched["unknown"]
        assert unknown["uscc"] == UNKNOWN_FIRM and [s["fact"] for s in unknown["to_supply"]] == ["invention_patents"]
        assert {a["clause"] for a in matched["true"][0]["atoms"]} == {"第二条", "第五条"}

        listed = (await http.get(f"{ITEM.replace('nodes', 'items')}/automatic", headers=reviewer)).json()
        assert [e["uscc"] for e in listed["enterprises"]] == [TRUE_FIRM]
        exported = await http.get(f"{ITEM.replace('nodes', 'items')}/automatic?format=csv", headers=reviewer)
        assert exported.headers["content-type"].startswith("text/csv") and exported.content.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
        assert rows[0][0] == "统一社会信用代码" and rows[1][:3] == [TRUE_FIRM, "发明专利授权资助", "1"]
        assert "有效发明专利数" in rows[1][3] and rows[1][4] == "法人库"

        detail = (await http.get(ITEM, headers=editor)).json()
        assert detail["published"]["version"] == 1 and [h["state"] for h in detail["history"]] == ["published"]
        actions = [(e["actor"], e["action"]) for e in await app.ctx.audit.entries(target_id="item:cd-patent-grant")]
        assert actions == [("zhao.reviewer", "policy.published"), ("zhao.reviewer", "policy.approved"),
                           ("li.editor", "policy.in_review"), ("li.editor", "policy.draft.save"),
                           ("li.editor", "policy.draft.save")]


async def test_the_author_cannot_approve_their_own_change_whatever_their_role(app):
    async with serve(app) as http:
        await add_staff(app)
        admin = await bearer(http, "wang.admin")
        await http.put(ITEM, json=DRAFT, headers=admin)
        await http.post(f"{ITEM}/submit", headers=admin)
        own = await http.post(f"{ITEM}/review", json={"approve": True}, headers=admin)
        assert own.status_code == 403 and own.json()["error"]["code"] == "own_change"
        reviewer = await bearer(http, "qian.reviewer")
        send_back = await http.post(f"{ITEM}/review", json={"approve": False}, headers=reviewer)
        assert send_back.status_code == 422 and send_back.json()["error"]["code"] == "comment_required"
        sent_back = await http.post(f"{ITEM}/review", json={"approve": False, "comment": "金额写错了"}, headers=reviewer)
        assert (sent_back.json()["state"], sent_back.json()["review_comment"]) == ("draft", "金额写错了")


async def test_bad_conditions_are_refused_with_the_path_of_each_problem(app):
    async with serve(app) as http:
        await add_staff(app)
        editor = await bearer(http, "li.editor")
        bad = {**DRAFT, "condition": {"all": [{"fact": "no_such_fact", "op": "is", "value": True},
                                              {"fact": "established_on", "op": ">=", "value": 3}]}}
        refused = await http.put(ITEM, json=bad, headers=editor)
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "condition_invalid"
        paths = [p["path"] for p in refused.json()["error"]["details"]]
        assert paths == ["all[0].fact", "all[1].op"]
        declared = {**DRAFT, "condition": {"fact": "sound_financial_system", "op": "is", "value": True}}
        automatic = await http.put(ITEM, json=declared, headers=editor)
        assert automatic.json()["error"]["code"] == "automatic_needs_authoritative"
        assert (await http.get(ITEM, headers=editor)).status_code == 404  # nothing was saved


async def test_the_catalogue_drives_the_editor_and_roles_and_tokens_are_checked(app):
    async with serve(app) as http:
        await add_staff(app)
        approver = await bearer(http, "sun.approver")
        catalogue = (await http.get("/api/v1/staff/policy/catalogue", headers=approver)).json()
        facts = {f["key"]: f for f in catalogue["facts"]}
        assert facts["invention_patents"]["type"] == "number" and catalogue["operators"]["number"][0] == "=="
        assert (await http.put(ITEM, json=DRAFT, headers=approver)).json()["error"]["code"] == "permission_denied"
        assert (await http.get("/api/v1/staff/policy/catalogue")).json()["error"]["code"] == "staff_sign_in_required"
        user = await app.ctx.identities.user_for_openid("o_citizen")
        token, _ = await app.ctx.tokens.issue(user)  # a citizen's token is not a staff token
        as_citizen = await http.get("/api/v1/staff/policy/catalogue", headers={"Authorization": f"Bearer {token}"})
        assert as_citizen.status_code == 401 and as_citizen.json()["error"]["code"] == "staff_token_invalid"
        assert (await http.delete("/api/v1/staff/sessions/current", headers=approver)).json() == {"signed_out": True}
        assert (await http.get("/api/v1/staff/me", headers=approver)).status_code == 401


async def test_the_staff_list_of_nodes_follows_the_pagination_rule(app):
    async with serve(app) as http:
        await add_staff(app)
        editor = await bearer(http, "li.editor")
        for n in range(5):
            saved = await http.put(f"/api/v1/staff/policy/nodes/department:test-{n}", headers=editor,
                                   json={"kind": "department", "name": f"测试部门{n}"})
            assert saved.status_code == 200, saved.text
        await walk_pages(http, "/api/v1/staff/policy/nodes", editor)
        found = (await http.get("/api/v1/staff/policy/nodes", headers=editor, params={"kind": "department",
                                                                                      "q": "测试部门3"})).json()
        assert [n["id"] for n in found["items"]] == ["department:test-3"]


async def test_a_colleagues_unchanged_resave_does_not_let_the_author_approve_or_publish(app):
    """Issue 15, item 7: the admin writes a change, an editor re-saves it unchanged and submits it;
    the admin may still neither approve nor publish it, a reviewer who never saved it may."""
    async with serve(app) as http:
        await add_staff(app)
        admin, editor = await bearer(http, "wang.admin"), await bearer(http, "li.editor")
        reviewer = await bearer(http, "zhao.reviewer")
        written = await http.put(ITEM, json=DRAFT, headers=admin)
        assert written.status_code == 200, written.text
        read = (await http.get(ITEM, headers=editor)).json()["latest"]
        resaved = await http.put(ITEM, headers=editor, json={
            "kind": read["kind"], "name": read["name"], "data": read["data"], "condition": read["condition"],
            "revision": read["revision"]})
        assert resaved.status_code == 200 and resaved.json()["author"] == "li.editor"
        assert resaved.json()["condition"] == read["condition"] and resaved.json()["data"] == read["data"]
        assert resaved.json()["revision_authors"] == [{"revision": 1, "author": "wang.admin"},
                                                      {"revision": 2, "author": "li.editor"}]
        assert (await http.post(f"{ITEM}/submit", headers=editor)).status_code == 200

        own = await http.post(f"{ITEM}/review", json={"approve": True}, headers=admin)
        assert own.status_code == 403 and own.json()["error"]["code"] == "own_change"
        assert "不能审核自己参与的修改" in own.json()["error"]["message"]
        assert own.json()["error"]["details"] == {"authors": ["wang.admin", "li.editor"]}
        assert (await http.get(ITEM, headers=admin)).json()["latest"]["state"] == "in_review"

        approved = await http.post(f"{ITEM}/review", json={"approve": True}, headers=reviewer)
        assert approved.status_code == 200 and approved.json()["reviewer"] == "zhao.reviewer"
        own_publish = await http.post(f"{ITEM}/publish", headers=admin)
        assert own_publish.status_code == 403 and own_publish.json()["error"]["code"] == "own_change"
        assert (await http.get(ITEM, headers=admin)).json()["published"] is None
        published = await http.post(f"{ITEM}/publish", headers=reviewer)
        assert published.status_code == 200 and published.json()["state"] == "published"
        actions = [(e["actor"], e["action"]) for e in await app.ctx.audit.entries(target_id="item:cd-patent-grant")]
        assert actions[:2] == [("zhao.reviewer", "policy.published"), ("zhao.reviewer", "policy.approved")]


def test_the_automatic_list_csv_writes_formulas_as_text():
    version = NodeVersion(node_id="item:x", kind="item", version=2, state="published",
                          name='=HYPERLINK("http://evil.example","领取补贴")', data={}, edges=[], condition=None,
                          valid_from=date(2026, 1, 1), valid_to=None, revision=1, author="li.editor",
                          reviewer="zhao.reviewer", review_comment=None, revision_authors=[])
    listed = [{"uscc": TRUE_FIRM, "sources": ["-法人库"], "explanation": {"atoms": [
        {"text": "@SUM(1+1)*cmd", "status": "true"}, {"text": "不符合的条件", "status": "false"}]}}]
    data = automatic_csv(version, listed)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[1] == [TRUE_FIRM, '\'=HYPERLINK("http://evil.example","领取补贴")', "2", "'@SUM(1+1)*cmd", "'-法人库"]
