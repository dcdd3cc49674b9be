"""``/api/v1/chat`` and its feedback through the real app over HTTP."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from store.tables.dialogue import chat_turns
from store.tables.evaluations import followup_tasks
from tests.helpers import assert_error, signed_in


async def assistant_ready(app) -> None:
    await asyncio.wait_for(asyncio.shield(app.ctx.dialogue_task), timeout=300)


@pytest.mark.with_assistant
async def test_a_conversation_over_http(app, client):
    await assistant_ready(app)
    first = await client.post("/api/v1/chat", json={"text": "结婚登记要带什么材料"})
    assert first.status_code == 200
    body = first.json()
    session, reply = body["session_id"], body["reply"]
    assert len(session) >= 8 and body["turn_id"] >= 1
    assert set(reply) >= {"text", "cards", "quick_replies", "sources", "intent", "aspect", "confidence",
                          "needs_clarification", "no_answer"}
    assert reply["intent"] == "consult" and reply["aspect"] == "材料"
    assert reply["sources"] == [{"type": "service_item", "id": "CD-0027", "name": "结婚登记", "version": 1}]
    follow = (await client.post("/api/v1/chat", json={"session_id": session, "text": "那要多久"})).json()
    assert follow["session_id"] == session and follow["reply"]["sources"][0]["id"] == "CD-0027"
    assert follow["reply"]["aspect"] == "时限"

    feedback = await client.post("/api/v1/chat/feedback", json={
        "session_id": session, "turn_id": follow["turn_id"], "helpful": True})
    assert feedback.status_code == 200
    stranger = await client.post("/api/v1/chat/feedback", json={
        "session_id": "someone-else-123", "turn_id": follow["turn_id"], "helpful": False})
    assert_error(stranger, 404, "turn_not_found")


@pytest.mark.with_assistant
async def test_bad_chat_requests_get_the_error_shape(app, client):
    await assistant_ready(app)
    assert_error(await client.post("/api/v1/chat", content=b"{not json"), 400, "invalid_json")
    assert_error(await client.post("/api/v1/chat", json={"session_id": "bad id!", "text": "你好"}), 400,
                 "invalid_request")
    assert_error(await client.post("/api/v1/chat", json={"text": "长" * 4001}), 400, "invalid_request")
    assert_error(await client.post("/api/v1/chat", json={}), 400, "invalid_request")
    empty = await client.post("/api/v1/chat", json={"text": ""})
    assert empty.status_code == 200 and empty.json()["reply"]["text"]


@pytest.mark.with_assistant
async def test_a_signed_in_users_answers_are_rated_by_that_user_only(app, client):
    """Holding a session id and a turn id is not enough to rate an answer given to a signed-in
    user: anyone else (signed in or not) is told there is no such answer, and no follow-up task is
    opened for staff."""
    await assistant_ready(app)
    _, owner = await signed_in(app, "o_chat_owner")
    _, other = await signed_in(app, "o_chat_other")
    asked = (await client.post("/api/v1/chat", headers=owner, json={"text": "结婚登记要带什么材料"})).json()
    session, turn = asked["session_id"], asked["turn_id"]
    verdict = {"session_id": session, "turn_id": turn, "helpful": False, "reason": "没用"}
    for headers in (other, {}):
        assert_error(await client.post("/api/v1/chat/feedback", headers=headers, json=verdict), 404, "turn_not_found")
    rating = {"target_type": "answer", "target_id": str(turn), "stars": 1, "tags": ["指引不清"]}
    assert_error(await client.post("/api/v1/evaluations", headers=other, json=rating), 404, "answer_not_found")
    assert_error(await client.post("/api/v1/chat/feedback", headers={"Authorization": "Bearer forged"}, json=verdict),
                 401, "token_invalid")
    async with app.ctx.db.read() as conn:
        assert (await conn.execute(sa.select(chat_turns.c.helpful).where(chat_turns.c.id == turn))).scalar() is None
        assert (await conn.execute(sa.select(sa.func.count()).select_from(followup_tasks))).scalar() == 0

    assert (await client.post("/api/v1/chat/feedback", headers=owner, json=verdict)).status_code == 200
    assert (await client.post("/api/v1/evaluations", headers=owner, json=rating)).status_code == 201
    [task] = await app.ctx.evaluations.open_followups()
    assert task["target_id"] == str(turn)


async def test_chat_says_so_when_the_assistant_is_not_enabled(test_settings):
    from server import create_app
    from tests.miniapp_api.conftest import serve

    app = create_app(test_settings.with_overrides(assistant=False))
    async with serve(app) as client:
        assert_error(await client.post("/api/v1/chat", json={"text": "你好"}), 503, "assistant_unavailable")
