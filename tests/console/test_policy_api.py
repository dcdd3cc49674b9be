"""The staff policy API over real HTTP: drafts, review by someone else, publishing, matching that
reruns on publish, the 免申即享 list as JSON and CSV, and the refusals on the way."""

from __future__ import annotations

import asyncio
import csv
import io

from tests.console.conftest import TRUE_FIRM, UNKNOWN_FIRM, add_staff, bearer, load_firms
from tests.miniapp_api.conftest import serve
from tests.miniapp_api.test_common_rules import walk_pages

ITEM = "/api/v1/staff/policy/nodes/item:cd-patent-grant"
CONDITION = {"all": [
    {"fact": "registered_district", "op": "under", "value": ["510100"], "clause": "第二条"},
    {"fact": "invention_patents", "op": ">=", "value": 1, "clause": "第五条"},
]}
DRAFT = {"kind": "item", "name": "发明专利授权资助", "condition": CONDITION,
         "data": {"category": "奖补", "delivery": "免申即享", "benefit": "每件发明专利资助3000元"}}


async def until_matched(http, headers, expected: int) -> dict:  # type: ignore[no-untyped-def]
    """Publishing wakes the matching loop; wait for it to have matched every enterprise."""
    for _ in range(100):
        answer = await http.get(f"{ITEM.replace('nodes', 'items')}/matches", headers=headers)
        if answer.status_code == 200 and sum(answer.json()["counts"].values()) == expected:
            return answer.json()
        await asyncio.sleep(0.1)
    raise AssertionError(f"never matched: {answer.status_code} {answer.text[:300]}")


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
