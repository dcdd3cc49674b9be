"""The approval workbench over real HTTP: a citizen's application reaches the queue through the
outbox, the approver opens it, accepts and approves it, and the citizen sees both steps in the
mini-program; refusals (no reason, already decided, no CSRF token, the wrong role) change nothing;
with an external approval back end the page says so."""

from __future__ import annotations

import re

from tests.console.conftest import add_staff, sign_in_page
from tests.helpers import PDF, PERSON, filled, login, wait_until
from tests.miniapp_api.conftest import serve


async def submit_application(app, http) -> tuple[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    """A citizen's whole way through the mini-program API, to a submitted application."""
    auth = await login(app, "o_workbench_citizen")
    consent = await http.post("/api/v1/forms/CD-0053/consent", headers=auth,
                              json={"fields": ["population.name", "population.id_number", "population.phone"]})
    assert consent.status_code == 201, consent.text
    draft = (await http.post("/api/v1/forms/CD-0053/prefill", headers=auth)).json()["draft"]
    data = {**filled(draft), "business_scope": "<b>小吃</b>服务"}
    saved = await http.put(f"/api/v1/drafts/{draft['id']}", headers=auth, json={"data": data, "revision": draft["revision"]})
    assert saved.status_code == 200, saved.text
    uploaded = await http.post(f"/api/v1/drafts/{draft['id']}/attachments", headers=auth,
                               data={"key": "premises_document"}, files={"file": ("租赁合同.pdf", PDF)})
    assert uploaded.status_code == 201, uploaded.text
    submitted = await http.post(f"/api/v1/drafts/{draft['id']}/submit", headers=auth)
    assert submitted.status_code == 201, submitted.text
    return submitted.json()["application"]["number"], auth


async def test_an_application_is_accepted_then_approved_and_the_citizen_sees_both(app):
    async with serve(app) as http:
        await add_staff(app)
        number, citizen = await submit_application(app, http)
        await wait_until(app.ctx.workbench.waiting)  # the outbox worker hands it to the embedded workbench

        editor = await sign_in_page(http, "li.editor")
        assert (await http.get("/console/workbench")).status_code == 403
        assert (await http.post(f"/console/workbench/{number}/accept", data={"csrf_token": editor})).status_code == 403
        await http.post("/console/logout", data={"csrf_token": editor})

        csrf = await sign_in_page(http, "sun.approver")
        queue = (await http.get("/console/workbench")).text
        masked = PERSON["name"][0] + "*" * (len(PERSON["name"]) - 1)
        assert number in queue and "个体工商户设立登记" in queue and masked in queue
        assert PERSON["name"] not in queue and PERSON["id_number"] not in queue
        page = (await http.get(f"/console/workbench/{number}")).text
        assert "租赁合同.pdf" in page and "&lt;b&gt;小吃&lt;/b&gt;服务" in page and "<b>小吃" not in page
        assert "受理" in page and f"/console/workbench/{number}/approve" not in page  # not before acceptance
        link = re.search(rf'href="(/console/workbench/{number}/attachments/[0-9a-f]{{32}})"', page).group(1)
        opened = await http.get(link)
        assert opened.status_code == 200 and opened.content == PDF and opened.headers["content-type"] == "application/pdf"
        assert (await app.ctx.audit.entries(target_id=number, actor="sun.approver"))[0]["action"] == \
            "application.attachment.open"
        assert (await http.get(link[:-1] + "0" if link[-1] != "0" else link[:-1] + "1")).status_code == 404

        forged = await http.post(f"/console/workbench/{number}/accept", data={})
        assert forged.status_code == 403 and "页面已过期或来源不明" in forged.text
        accepted = await http.post(f"/console/workbench/{number}/accept", data={"csrf_token": csrf})
        assert accepted.status_code == 303 and accepted.headers["location"] == f"/console/workbench/{number}"
        no_reason = await http.post(f"/console/workbench/{number}/reject", data={"csrf_token": csrf, "reason": "  "})
        assert no_reason.status_code == 422 and "须填写原因" in no_reason.text
        approved = await http.post(f"/console/workbench/{number}/approve", data={"csrf_token": csrf, "reason": "材料齐全"})
        assert approved.status_code == 303
        assert "已审批通过" in (await http.get(f"/console/workbench/{number}")).text  # the notice, once
        twice = await http.post(f"/console/workbench/{number}/reject", data={"csrf_token": csrf, "reason": "重复提交"})
        assert twice.status_code == 409 and "该申请已审批通过，不能再不予受理" in twice.text
        assert number not in (await http.get("/console/workbench")).text  # decided: off the queue

        shown = (await http.get(f"/api/v1/me/applications/{number}", headers=citizen)).json()["application"]
        assert [t["status"] for t in shown["timeline"]] == ["submitted", "accepted", "approved"]
        assert shown["status_text"] == "审批通过" and shown["timeline"][2]["note"] == "材料齐全"
        titles = [m["title"] for m in (await http.get("/api/v1/me/messages", headers=citizen)).json()["items"]]
        assert titles[:2] == ["办件进度：审批通过", "办件进度：已受理"]
        actions = [e["action"] for e in await app.ctx.audit.entries(target_type="application", target_id=number)]
        assert actions == ["application.approve", "application.accept", "application.attachment.open"]
        assert "sun.approver" in (await http.get(f"/console/workbench/{number}")).text  # who decided, on the timeline

        app.ctx.workbench, embedded = None, app.ctx.workbench  # as with RYB_APPROVAL_URL set
        try:
            assert "外部审批系统" in (await http.get("/console/workbench")).text
            refused = await http.post(f"/console/workbench/{number}/accept", data={"csrf_token": csrf})
            assert refused.status_code == 409
        finally:
            app.ctx.workbench = embedded
