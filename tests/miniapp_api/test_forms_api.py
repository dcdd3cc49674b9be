"""Smart forms over HTTP, a citizen's whole way: the form, consent, prefill, autosave, attachments,
pre-review, a double-clicked submit, the workbench, signed status callbacks and the timeline."""

from __future__ import annotations

import json
import time

import pytest
import sqlalchemy as sa

from smartform.approval import signature
from store.tables.applications import applications
from store.tables.messages import user_messages
from store.tables.outbox import outbox_jobs
from tests.helpers import PDF, PERSON, assert_error, filled, login, wait_until

APPROVAL_SECRET = "approval-test-secret"


@pytest.fixture
def test_settings(test_settings):
    return test_settings.with_overrides(approval_secret=APPROVAL_SECRET)


def signed(body: dict) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
    timestamp = str(int(time.time()))
    return raw, {"X-Timestamp": timestamp, "X-Signature": signature(APPROVAL_SECRET, timestamp, raw),
                 "Content-Type": "application/json"}


async def test_a_citizen_applies_from_prefill_to_certificate(app, client):
    auth = await login(app, "o_applicant")
    form = (await client.get("/api/v1/forms/CD-0053")).json()
    assert form["form"]["title"] == "个体工商户设立登记申请表"
    assert {f["source"] for f in form["consent"]["fields"]} >= {"population.name", "population.id_number"}

    assert_error(await client.post("/api/v1/forms/CD-0053/prefill"), 401, "token_missing")
    unconsented = (await client.post("/api/v1/forms/CD-0053/prefill", headers=auth)).json()
    assert unconsented["draft"]["data"] == {} and "未授权" in unconsented["prefill"]["message"]
    consent = await client.post("/api/v1/forms/CD-0053/consent", headers=auth,
                                json={"fields": ["population.name", "population.id_number", "population.phone"]})
    assert consent.status_code == 201
    opened = (await client.post("/api/v1/forms/CD-0053/prefill", headers=auth)).json()
    draft = opened["draft"]
    assert draft["id"] == unconsented["draft"]["id"]  # the same draft, resumed
    assert draft["data"]["operator_name"] == PERSON["name"] and draft["data"]["operator_id_number"] == PERSON["id_number"]
    assert draft["provenance"]["operator_name"]["from"] == "population" and draft["provenance"]["operator_name"]["locked"]

    data = filled(draft)
    locked = await client.put(f"/api/v1/drafts/{draft['id']}", headers=auth,
                              json={"data": {**data, "operator_name": "别人"}, "revision": draft["revision"]})
    assert_error(locked, 422, "field_locked")
    saved = (await client.put(f"/api/v1/drafts/{draft['id']}", headers=auth,
                              json={"data": data, "revision": draft["revision"]})).json()["draft"]
    assert saved["revision"] == draft["revision"] + 1 and saved["provenance"]["capital"]["from"] == "user"
    stale = await client.put(f"/api/v1/drafts/{draft['id']}", headers=auth, json={"data": data, "revision": draft["revision"]})
    assert_error(stale, 409, "draft_conflict")

    problems = (await client.post(f"/api/v1/drafts/{draft['id']}/review", headers=auth)).json()
    assert problems["ok"] is False
    assert [p["field"] for p in problems["problems"]] == ["premises_document"]  # the lease, not uploaded yet
    assert_error(await client.post(f"/api/v1/drafts/{draft['id']}/submit", headers=auth), 422, "review_failed")

    wrong = await client.post(f"/api/v1/drafts/{draft['id']}/attachments", headers=auth,
                              data={"key": "premises_document"}, files={"file": ("lease.pdf", b"MZ\x90\x00not a pdf")})
    assert_error(wrong, 415, "attachment_type")
    uploaded = await client.post(f"/api/v1/drafts/{draft['id']}/attachments", headers=auth,
                                 data={"key": "premises_document"}, files={"file": ("lease.pdf", PDF)})
    assert uploaded.status_code == 201 and uploaded.json()["attachment"]["size"] == len(PDF)
    assert (await client.post(f"/api/v1/drafts/{draft['id']}/review", headers=auth)).json() == {"ok": True, "problems": []}

    # a double click: two submits at once, one application
    import asyncio
    first, second = await asyncio.gather(*(client.post(f"/api/v1/drafts/{draft['id']}/submit", headers=auth)
                                           for _ in range(2)))
    assert sorted([first.status_code, second.status_code]) == [200, 201]
    number = first.json()["application"]["number"]
    assert second.json()["application"]["number"] == number and number.startswith("SQ")
    async with app.ctx.db.read() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(applications))).scalar() == 1
        [job] = list(await conn.execute(sa.select(outbox_jobs).where(outbox_jobs.c.kind == "approval.handoff")))
    assert job.idempotency_key == f"approval:{number}"
    await wait_until(app.ctx.workbench.waiting)  # the worker hands it to the embedded workbench
    [waiting] = await app.ctx.workbench.waiting()
    assert waiting["number"] == number and waiting["payload"]["data"]["operator_name"] == PERSON["name"]
    assert waiting["payload"]["item_version"] == 1 and "operator_phone" in waiting["payload"]["data"]

    raw, headers = signed({"event_id": "evt-1", "application_no": number, "status": "accepted", "note": "材料齐全"})
    assert (await client.post("/api/v1/approval/callback", content=raw, headers=headers)).json() == {
        "recorded": True, "duplicate": False}
    assert (await client.post("/api/v1/approval/callback", content=raw, headers=headers)).json()["duplicate"] is True
    assert await app.ctx.workbench.decide(number, "certificate_issued", None, "staff-1")
    shown = (await client.get(f"/api/v1/applications/{number}", headers=auth)).json()["application"]
    assert [t["status"] for t in shown["timeline"]] == ["submitted", "accepted", "certificate_issued"]
    assert shown["status_text"] == "已出证" and shown["timeline"][1]["note"] == "材料齐全"
    async with app.ctx.db.read() as conn:
        titles = [r.title for r in await conn.execute(sa.select(user_messages).order_by(user_messages.c.id))]
    assert titles == ["办件进度：已提交", "办件进度：已受理", "办件进度：已出证"]

    other = await login(app, "o_someone_else", bind=False)
    assert_error(await client.get(f"/api/v1/applications/{number}", headers=other), 404, "application_not_found")
    assert_error(await client.get(f"/api/v1/drafts/{draft['id']}", headers=other), 404, "draft_not_found")


async def test_callbacks_that_are_forged_or_for_unknown_applications_are_refused(app, client):
    raw, headers = signed({"event_id": "evt-x", "application_no": "SQ20260101000001", "status": "accepted"})
    assert_error(await client.post("/api/v1/approval/callback", content=raw, headers=headers), 404,
                 "application_not_found")
    forged = {**headers, "X-Signature": "0" * 64}
    assert_error(await client.post("/api/v1/approval/callback", content=raw, headers=forged), 401, "bad_signature")
    old = {**headers, "X-Timestamp": str(int(time.time()) - 3600)}
    old["X-Signature"] = signature(APPROVAL_SECRET, old["X-Timestamp"], raw)
    assert_error(await client.post("/api/v1/approval/callback", content=raw, headers=old), 401, "bad_timestamp")
    raw, headers = signed({"event_id": "evt-y", "application_no": "SQ20260101000001", "status": "teleported"})
    assert_error(await client.post("/api/v1/approval/callback", content=raw, headers=headers), 400, "invalid_request")


async def test_bad_form_input(app, client):
    auth = await login(app, "o_careless", bind=False)
    assert_error(await client.get("/api/v1/forms/CD-9999"), 404, "form_not_found")
    assert_error(await client.post("/api/v1/forms/CD-0053/consent", headers=auth, json={"fields": ["legal_person.uscc"]}),
                 422, "consent_invalid")
    assert_error(await client.get("/api/v1/applications/SQ20260101000001", headers={"Authorization": "Bearer nope"}),
                 401, "token_invalid")
    draft = (await client.post("/api/v1/forms/CD-0053/prefill", headers=auth)).json()["draft"]
    assert_error(await client.put(f"/api/v1/drafts/{draft['id']}", headers=auth,
                                  json={"data": {"no_such_field": 1}, "revision": 1}), 422, "unknown_fields")
    data = {"operator_name": "王示例", "operator_id_number": "510104199003071235", "operator_phone": "12345",
            "use_name": True, "organisation_form": "家庭经营", "family_members": [{"member_name": "李示例"}],
            "capital": "-3", "employees": 0, "by_agent": False}
    await client.put(f"/api/v1/drafts/{draft['id']}", headers=auth, json={"data": data, "revision": 1})
    problems = (await client.post(f"/api/v1/drafts/{draft['id']}/review", headers=auth)).json()["problems"]
    by_field = {p["field"]: p["code"] for p in problems}
    assert by_field["operator_id_number"] == "id_check_digit" and by_field["operator_phone"] == "phone"
    assert by_field["business_name"] == "required"  # visible because use_name is true
    assert by_field["family_members[0].member_id_number"] == "required"
    assert by_field["capital"] == "amount_range" and by_field["employees"] == "range"
    assert "premises_address" in by_field and "agent_name" not in by_field  # hidden: not by agent
    big = await client.post(f"/api/v1/drafts/{draft['id']}/attachments", headers=auth,
                            data={"key": "premises_document"}, files={"file": ("big.pdf", PDF + b"0" * (10 * 1024 * 1024))})
    assert_error(big, 413, "attachment_too_large")


@pytest.mark.with_assistant
async def test_asking_the_assistant_about_my_application(app, client):
    import asyncio
    from datetime import UTC, datetime

    await asyncio.wait_for(asyncio.shield(app.ctx.dialogue_task), timeout=300)
    auth = await login(app, "o_asker", bind=False)
    owner = await app.ctx.tokens.user_of(auth["Authorization"].split()[1])
    now = datetime.now(UTC)
    async with app.ctx.db.transaction() as conn:
        await conn.execute(applications.insert().values(
            number="SQ20261122000042", draft_id="d42", user_id=owner, item_code="CD-0053", item_name="个体工商户设立登记",
            item_version=1, form_version=1, data={}, attachments=[], status="submitted", submitted_at=now, updated_at=now))
    await app.ctx.applications.record_status("SQ20261122000042", "supplement_requested", event_id="e42",
                                             note="请补充租赁合同", source="approval")
    question = {"text": "查一下我的申请 SQ20261122000042"}
    mine = (await client.post("/api/v1/chat", json=question, headers=auth)).json()["reply"]
    assert mine["intent"] == "progress" and "需补正材料" in mine["text"] and "请补充租赁合同" in mine["text"]
    anonymous = (await client.post("/api/v1/chat", json=question)).json()["reply"]
    assert "登录" in anonymous["text"] and "补正" not in anonymous["text"]
    stranger = await login(app, "o_stranger", bind=False)
    theirs = (await client.post("/api/v1/chat", json=question, headers=stranger)).json()["reply"]
    assert "没有查到" in theirs["text"] and "补正" not in theirs["text"]
