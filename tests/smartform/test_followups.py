"""Answering a bad rating's follow-up task (差评整改) on both databases: a reply is required, the
task is answered once, the rater is told, and it is audited."""

from __future__ import annotations

import sqlalchemy as sa

from assistant.dialogue import signed_in_session
from smartform.evaluations import EvaluationError, Evaluations
from store.tables.base import utcnow
from store.tables.dialogue import chat_turns
from store.tables.messages import user_messages


async def test_a_followup_is_answered_once_and_the_rater_told(db, audit):
    async with db.transaction() as conn:
        turn = (await conn.execute(chat_turns.insert().values(
            at=utcnow(), session_key=f"miniapp:{signed_in_session('u9', 's-1')}", channel="miniapp", text="问",
            intent="consult", confidence=1.0,
            sources=[], reply="答", no_answer=False, needs_clarification=False, kb_version=1, latency_ms=1.0,
        ).returning(chat_turns.c.id))).scalar_one()
    service = Evaluations(db, audit=audit)
    await service.submit("u9", "answer", str(turn), 1, ["指引不清"], "<b>没用</b>")
    [task] = await service.open_followups()
    assert task["comment"] == "<b>没用</b>" and task["tags"] == ["指引不清"] and "user_id" not in task
    try:
        await service.answer_followup(task["id"], "  ", "sun.approver")
        raise AssertionError("an empty reply was taken")
    except EvaluationError as exc:
        assert exc.code == "reply_required"
    answered = await service.answer_followup(task["id"], "已补充办理指引", "sun.approver")
    assert answered["status"] == "answered" and await service.open_followups() == []
    for task_id, code in ((task["id"], "followup_answered"), (task["id"] + 100, "followup_not_found")):
        try:
            await service.answer_followup(task_id, "再答一次", "sun.approver")
            raise AssertionError("answered twice")
        except EvaluationError as exc:
            assert exc.code == code
    async with db.read() as conn:
        [message] = list(await conn.execute(sa.select(user_messages)))
    assert message.user_id == "u9" and message.body == "您对智能客服的回答的评价已收到整改回复：已补充办理指引"
    [entry] = await audit.entries(target_type="followup_task")
    assert entry["actor"] == "sun.approver" and entry["after"] == {"status": "answered", "reply": "已补充办理指引"}
