"""Operations over real HTTP: dead letters retried (back to pending) and discarded (off the list),
12345 tickets filtered and moved forward only, a bad rating's follow-up answered, whatever
citizens typed shown escaped, and the page closed to roles without operations.manage and to
forms without the CSRF token."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from assistant.dialogue import signed_in_session
from store.tables.base import utcnow
from store.tables.dialogue import chat_turns, demand_tickets
from store.tables.evaluations import followup_tasks
from store.tables.messages import user_messages
from store.tables.outbox import outbox_jobs
from tests.console.conftest import add_staff, sign_in_page
from tests.miniapp_api.conftest import serve

EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'


async def seed(app) -> tuple[list[int], int]:  # type: ignore[no-untyped-def]
    """Two dead letters (of a kind no worker handles, so a retried one stays pending), three
    tickets, and a bad rating of an answer whose follow-up is overdue."""
    now = utcnow()
    async with app.ctx.db.transaction() as conn:
        for n in range(2):
            await app.ctx.outbox.enqueue(conn, "test.nowhere", {"n": n}, f"test:dead:{n}")
        await conn.execute(outbox_jobs.update().where(outbox_jobs.c.kind == "test.nowhere").values(
            status="dead", attempts=8, last_error="HTTPError: <b>502</b> from the approval system"))
        jobs = [r.id for r in await conn.execute(sa.select(outbox_jobs.c.id).where(outbox_jobs.c.kind == "test.nowhere")
                                                 .order_by(outbox_jobs.c.id))]
        await conn.execute(demand_tickets.insert(), [
            dict(number=f"12345260501{n:06d}", created_at=now - timedelta(minutes=n), updated_at=now,
                 session_key="miniapp:secret-session", channel="miniapp", category=category, category_confidence=0.8,
                 district="锦江区", summary=f"诉求摘要{n}", text=text, contact_consent=True, status="received")
            for n, (category, text) in enumerate([("城乡建设", EVIL), ("劳动社保", "工资拖欠"), ("城乡建设", "路灯不亮")])])
        turn = (await conn.execute(chat_turns.insert().values(
            at=now, session_key="miniapp:" + signed_in_session("u-rater", "s"), channel="miniapp", text="问", intent="consult", confidence=1.0, sources=[],
            reply="答", no_answer=False, needs_clarification=False, kb_version=1, latency_ms=1.0,
        ).returning(chat_turns.c.id))).scalar_one()
    await app.ctx.evaluations.submit("u-rater", "answer", str(turn), 1, ["指引不清"], EVIL)
    async with app.ctx.db.transaction() as conn:
        await conn.execute(followup_tasks.update().values(due_at=now - timedelta(hours=1)))
        task = (await conn.execute(sa.select(followup_tasks.c.id))).scalar_one()
    return jobs, task


async def job_status(app, job_id: int) -> str:  # type: ignore[no-untyped-def]
    async with app.ctx.db.read() as conn:
        return (await conn.execute(sa.select(outbox_jobs.c.status).where(outbox_jobs.c.id == job_id))).scalar_one()


async def test_dead_letters_tickets_and_followups(app):
    async with serve(app) as http:
        await add_staff(app)
        (retried, discarded), task = await seed(app)

        editor = await sign_in_page(http, "li.editor")
        assert (await http.get("/console/operations")).status_code == 403
        denied = await http.post(f"/console/operations/dead-letters/{retried}/retry", data={"csrf_token": editor})
        assert denied.status_code == 403 and await job_status(app, retried) == "dead"
        await http.post("/console/logout", data={"csrf_token": editor})

        csrf = await sign_in_page(http, "sun.approver")
        page = (await http.get("/console/operations")).text
        for anchor in ('id="dead-letters"', 'id="demands"', 'id="followups"'):
            assert anchor in page
        assert "<script>alert" not in page and "<img src=x" not in page and "<b>502</b>" not in page
        assert "&lt;script&gt;alert" in page and "&lt;b&gt;502&lt;/b&gt;" in page
        assert "secret-session" not in page and "u-rater" not in page
        assert "已逾期" in page

        # dead letters
        forged = await http.post(f"/console/operations/dead-letters/{retried}/retry", data={})
        assert forged.status_code == 403 and await job_status(app, retried) == "dead"
        answer = await http.post(f"/console/operations/dead-letters/{retried}/retry", data={"csrf_token": csrf})
        assert answer.status_code == 303 and answer.headers["location"] == "/console/operations#dead-letters"
        assert await job_status(app, retried) == "pending"
        assert (await http.post(f"/console/operations/dead-letters/{discarded}/discard",
                                data={"csrf_token": csrf})).status_code == 303
        assert await job_status(app, discarded) == "discarded"
        gone = await http.post(f"/console/operations/dead-letters/{discarded}/retry", data={"csrf_token": csrf})
        huge = await http.post("/console/operations/dead-letters/99999999999999/retry", data={"csrf_token": csrf})
        assert huge.status_code == 404
        assert gone.status_code == 409 and "已不在发送失败列表中" in gone.text
        page = (await http.get("/console/operations")).text
        assert f"/dead-letters/{retried}/" not in page and f"/dead-letters/{discarded}/" not in page
        assert [e["action"] for e in await app.ctx.audit.entries(target_type="outbox_job")] == [
            "outbox.discard", "outbox.retry"]

        # 12345 tickets: filters, and forward one step at a time only
        filtered = (await http.get("/console/operations?category=城乡建设&status=received")).text
        assert "12345260501000000" in filtered and "12345260501000002" in filtered
        assert "12345260501000001" not in filtered
        number = "12345260501000000"
        moved = await http.post(f"/console/operations/demands/{number}",
                                data={"csrf_token": csrf, "status": "assigned", "note": "转锦江区住建局"})
        assert moved.status_code == 303 and moved.headers["location"] == "/console/operations#demands"
        skipped = await http.post(f"/console/operations/demands/{number}",
                                  data={"csrf_token": csrf, "status": "closed", "note": "直接办结"})
        assert skipped.status_code == 409 and "下一步只能是“承办部门已答复”" in skipped.text
        assert ">直接办结</textarea>" in skipped.text  # what was typed is kept, in the reply box it belongs to
        back = await http.post(f"/console/operations/demands/{number}", data={"csrf_token": csrf, "status": "received"})
        assert back.status_code == 409
        async with app.ctx.db.read() as conn:
            assert (await conn.execute(sa.select(demand_tickets.c.status)
                                       .where(demand_tickets.c.number == number))).scalar_one() == "assigned"
        [entry] = await app.ctx.audit.entries(target_type="demand_ticket", target_id=number)
        assert entry["actor"] == "sun.approver" and entry["details"] == {"note": "转锦江区住建局"}

        # the follow-up of a bad rating
        empty = await http.post(f"/console/operations/followups/{task}", data={"csrf_token": csrf, "reply": " "})
        assert empty.status_code == 422 and "请填写整改回复" in empty.text
        replied = await http.post(f"/console/operations/followups/{task}",
                                  data={"csrf_token": csrf, "reply": "已重写该事项的办理指引"})
        assert replied.status_code == 303 and replied.headers["location"] == "/console/operations#followups"
        assert await app.ctx.evaluations.open_followups() == []
        again = await http.post(f"/console/operations/followups/{task}", data={"csrf_token": csrf, "reply": "再答"})
        assert again.status_code == 409 and "已经回复过了" in again.text
        async with app.ctx.db.read() as conn:
            [told] = list(await conn.execute(sa.select(user_messages).where(user_messages.c.user_id == "u-rater")))
        assert "已重写该事项的办理指引" in told.body
        assert "没有待整改的差评" in (await http.get("/console/operations")).text
