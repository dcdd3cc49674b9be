"""The signed-in user's own things: profile, identity and enterprise binding, my applications,
subscriptions, the message centre, and good/bad evaluations."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from assistant.dialogue import signed_in_session
from smartform.synthetic import enterprises, people
from store.tables.dialogue import chat_turns
from store.tables.evaluations import followup_tasks
from tests.helpers import add_application, assert_error, signed_in
from tests.identity_platform import verify_through_api

PEOPLE = people()
COMPANY = enterprises(PEOPLE)[2]  # its legal representative is PEOPLE[2]


async def test_profile_binding_and_its_limits(app, client):
    _, auth = await signed_in(app, "o_me_1")
    assert (await client.get("/api/v1/me", headers=auth)).json()["identity_bound"] is False
    enterprise_first = await client.post("/api/v1/me/enterprise", headers=auth, json={"uscc": COMPANY["uscc"], "role": "经办人"})
    assert_error(enterprise_first, 422, "identity_required")
    bound = await client.post("/api/v1/me/identity", headers=auth, json={"name": PEOPLE[2]["name"], "id_number": PEOPLE[2]["id_number"]})
    assert bound.status_code == 200 and bound.json()["identity_level"] == "knowledge"
    profile = (await client.get("/api/v1/me", headers=auth)).json()
    assert profile["identity_bound"] and profile["id_number"] == PEOPLE[2]["id_number"][:4] + "*" * 10 + PEOPLE[2]["id_number"][-4:]
    assert PEOPLE[2]["id_number"] not in str(profile) and PEOPLE[2]["name"] not in str(profile)
    # knowing a name and an ID number does not make one the enterprise's representative
    assert_error(await client.post("/api/v1/me/enterprise", headers=auth, json={"uscc": COMPANY["uscc"], "role": "法定代表人"}),
                 403, "identity_verification_required")
    verified = await verify_through_api(client, auth, PEOPLE[2])
    assert verified.status_code == 200 and verified.json()["identity_level"] == "high"

    assert_error(await client.post("/api/v1/me/enterprise", headers=auth, json={"uscc": "91440101052565100X", "role": "经办人"}),
                 422, "uscc_check_digit")
    as_rep = await client.post("/api/v1/me/enterprise", headers=auth, json={"uscc": COMPANY["uscc"], "role": "法定代表人"})
    assert as_rep.status_code == 200 and as_rep.json()["enterprise"] == {"uscc": COMPANY["uscc"], "role": "法定代表人"}
    other_company = enterprises(PEOPLE)[3]
    assert_error(await client.post("/api/v1/me/enterprise", headers=auth, json={"uscc": other_company["uscc"], "role": "法定代表人"}),
                 403, "not_legal_representative")
    assert (await client.delete("/api/v1/me/identity", headers=auth)).json() == {"bound": False}
    assert (await client.get("/api/v1/me", headers=auth)).json()["enterprise"] is None

    _, guesser = await signed_in(app, "o_me_guesser")
    for n in range(5):
        wrong = await client.post("/api/v1/me/identity", headers=guesser, json={"name": f"猜{n}", "id_number": PEOPLE[5]["id_number"]})
        assert_error(wrong, 422, "identity_mismatch")
    limited = await client.post("/api/v1/me/identity", headers=guesser, json={"name": PEOPLE[5]["name"], "id_number": PEOPLE[5]["id_number"]})
    assert limited.status_code == 429, limited.text
    assert_error(limited, 429, "too_many_attempts")
    assert 86_000 < int(limited.headers["Retry-After"]) <= 86_400


async def test_my_applications_messages_and_subscriptions(app, client):
    user, auth = await signed_in(app, "o_me_2")
    for n in range(3):
        await add_application(app, user, f"SQ2026112200010{n}")
    other, other_auth = await signed_in(app, "o_me_3")
    await add_application(app, other, "SQ20261122000199")
    page = (await client.get("/api/v1/me/applications?page=1&page_size=2", headers=auth)).json()
    assert page["total"] == 3 and len(page["items"]) == 2 and page["items"][0]["status_text"] == "已受理"
    assert (await client.get("/api/v1/me/applications?page=2&page_size=2", headers=auth)).json()["items"][0]["number"] == "SQ20261122000100"
    detail = (await client.get("/api/v1/me/applications/SQ20261122000101", headers=auth)).json()["application"]
    assert [t["status"] for t in detail["timeline"]] == ["accepted"]
    assert_error(await client.get("/api/v1/me/applications/SQ20261122000199", headers=auth), 404, "application_not_found")
    assert_error(await client.get("/api/v1/me/applications?page_size=1000", headers=auth), 400, "invalid_request")

    inbox = (await client.get("/api/v1/me/messages", headers=auth)).json()
    assert inbox["total"] == 3 and inbox["unread"] == 3
    first = inbox["items"][0]["id"]
    assert (await client.post(f"/api/v1/me/messages/{first}/read", headers=auth)).json() == {"read": 1}
    assert_error(await client.post(f"/api/v1/me/messages/{first}/read", headers=other_auth), 404, "message_not_found")
    assert (await client.get("/api/v1/me/messages?unread=true", headers=auth)).json()["total"] == 2
    assert (await client.post("/api/v1/me/messages/read-all", headers=auth)).json() == {"read": 2}

    created = await client.post("/api/v1/me/subscriptions", headers=auth,
                                json={"template_id": "TPL_STATUS", "scene": "application_status", "count": 2})
    assert created.status_code == 201 and created.json()["subscription"]["remaining"] == 2
    assert_error(await client.post("/api/v1/me/subscriptions", headers=auth, json={"template_id": "x", "scene": "spam"}),
                 400, "invalid_request")
    assert [s["template_id"] for s in (await client.get("/api/v1/me/subscriptions", headers=auth)).json()["items"]] == ["TPL_STATUS"]


async def test_evaluations_once_each_bad_ones_followed_up_and_public_stats(app, client):
    user, auth = await signed_in(app, "o_me_4")
    await add_application(app, user, "SQ20261122000300")
    await add_application(app, user, "SQ20261122000301")
    good = await client.post("/api/v1/evaluations", headers=auth, json={
        "target_type": "application", "target_id": "SQ20261122000300", "stars": 5, "tags": ["办事便捷", "态度好"]})
    assert good.status_code == 201 and good.json()["evaluation"]["followup_due_at"] is None
    again = await client.post("/api/v1/evaluations", headers=auth, json={
        "target_type": "application", "target_id": "SQ20261122000300", "stars": 1})
    assert_error(again, 409, "already_evaluated")
    bad = await client.post("/api/v1/evaluations", headers=auth, json={
        "target_type": "application", "target_id": "SQ20261122000301", "stars": 2, "tags": ["等待太久"],
        "comment": "等了两周"})
    assert bad.json()["evaluation"]["followup_due_at"]
    [task] = await app.ctx.evaluations.open_followups()
    assert task["stars"] == 2 and task["comment"] == "等了两周"
    assert_error(await client.post("/api/v1/evaluations", headers=auth, json={
        "target_type": "application", "target_id": "SQ20261122000399", "stars": 3}), 404, "application_not_found")
    assert_error(await client.post("/api/v1/evaluations", headers=auth, json={
        "target_type": "application", "target_id": "SQ20261122000300", "stars": 6}), 400, "invalid_request")
    assert_error(await client.post("/api/v1/evaluations", headers=auth, json={
        "target_type": "answer", "target_id": "1", "stars": 4, "tags": ["不存在的标签"]}), 422, "unknown_tags")

    async with app.ctx.db.transaction() as conn:
        turn = (await conn.execute(chat_turns.insert().values(
            at=datetime.now(UTC), session_key=f"miniapp:{signed_in_session(user, 's-12345678')}", channel="miniapp",
            text="问", intent="consult", confidence=1.0,
            sources=[], reply="答", no_answer=False, needs_clarification=False, kb_version=1, latency_ms=1.0,
        ).returning(chat_turns.c.id))).scalar_one()
    answer = await client.post("/api/v1/evaluations", headers=auth, json={"target_type": "answer", "target_id": str(turn), "stars": 4})
    assert answer.status_code == 201

    stats = (await client.get("/api/v1/evaluations/stats?item=CD-0053")).json()
    assert stats["count"] == 2 and stats["average_stars"] == 3.5 and stats["by_stars"]["2"] == 1
    assert stats["bad_share"] == 0.5 and stats["tags"] == {"办事便捷": 1, "态度好": 1, "等待太久": 1}
    assert (await client.get("/api/v1/evaluations/stats?item=CD-0001")).json()["count"] == 0
    assert_error(await client.get("/api/v1/evaluations/stats?from=2026-12-01&to=2026-01-01"), 400, "invalid_request")
    for far in ("from=0001-01-01", "to=9999-12-31"):  # found by the fuzz test: once a 500
        assert_error(await client.get(f"/api/v1/evaluations/stats?{far}"), 400, "invalid_request")
    async with app.ctx.db.read() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(followup_tasks))).scalar() == 1


async def test_only_ones_own_applications_and_answers_can_be_rated(app, client):
    """Someone else's application or answer is "not found", word for word as one that does not
    exist, and opens no follow-up task for staff; its owner rates it as before. (The answers of a
    real conversation: tests/miniapp_api/test_chat_api.py.)"""
    owner, owner_auth = await signed_in(app, "o_rated_owner")
    _, other_auth = await signed_in(app, "o_rated_other")
    await add_application(app, owner, "SQ20261122000500")
    turn = {"at": datetime.now(UTC), "channel": "miniapp", "text": "问", "intent": "consult", "confidence": 1.0,
            "sources": [], "reply": "答", "no_answer": False, "needs_clarification": False, "kb_version": 1,
            "latency_ms": 1.0}
    async with app.ctx.db.transaction() as conn:
        owners_turn, anonymous_turn = [(await conn.execute(chat_turns.insert().values(
            **turn, session_key=f"miniapp:{key}").returning(chat_turns.c.id))).scalar_one()
            for key in (signed_in_session(owner, "s-owner-0001"), "s-anonymous-0001")]

    async def rate(auth: dict[str, str], target_type: str, target_id: str):  # type: ignore[no-untyped-def]
        return await client.post("/api/v1/evaluations", headers=auth, json={
            "target_type": target_type, "target_id": target_id, "stars": 1, "tags": ["态度不好"], "comment": "差"})

    for target_type, target_id, code in (
            ("application", "SQ20261122000500", "application_not_found"),
            ("application", "SQ20261122000599", "application_not_found"),  # none such: the same answer
            ("answer", str(owners_turn), "answer_not_found"),
            ("answer", str(owners_turn + 1000), "answer_not_found"),
            ("answer", "99999999999999999999", "answer_not_found"),  # past the column's range: still a 404
            ("answer", "１２", "answer_not_found")):  # full-width digits are not an id
        refused = await rate(other_auth, target_type, target_id)
        assert_error(refused, 404, code)
        assert refused.json()["error"]["message"] in ("没有找到这个申请", "没有找到这条回答")
    # an answer given to nobody signed in belongs to nobody: not even the owner rates it here
    assert_error(await rate(owner_auth, "answer", str(anonymous_turn)), 404, "answer_not_found")
    async with app.ctx.db.read() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(followup_tasks))).scalar() == 0

    assert (await rate(owner_auth, "application", "SQ20261122000500")).status_code == 201
    assert (await rate(owner_auth, "answer", str(owners_turn))).status_code == 201
    assert len(await app.ctx.evaluations.open_followups()) == 2
