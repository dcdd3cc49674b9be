"""Good/bad evaluations (好差评) of an application or of an assistant answer, the follow-up task a
bad rating opens for staff (差评整改) and its answer, and the public statistics. A user rates only
their own: an application they submitted, an answer given in a session they were signed in to
(anything else is "not found", so nobody can probe which numbers and turns exist)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from assistant.dialogue import session_owner
from domain_errors import DomainError
from store.audit import AuditLog
from store.database import Database
from store.tables.applications import applications
from store.tables.base import utcnow
from store.tables.catalog import service_items
from store.tables.dialogue import chat_turns
from store.tables.evaluations import evaluations, followup_tasks
from store.tables.messages import user_messages

TAGS = ("办事便捷", "材料简单", "态度好", "办理迅速", "指引清楚", "材料繁琐", "等待太久", "态度不好", "多次跑腿", "指引不清")
BAD = 2  # 1–2 stars
MAX_REPLY = 1000  # the task's reply column
MINIAPP = "miniapp"  # the channel of answers a signed-in user can rate (miniapp_api.chat.CHANNEL)


class EvaluationError(DomainError):
    """An evaluation or follow-up reply that cannot be recorded as asked."""


class Evaluations:
    def __init__(self, db: Database, *, followup_days: float = 3, audit: AuditLog | None = None) -> None:
        self.db = db
        self.followup = timedelta(days=followup_days)
        self.audit = audit or AuditLog(db)

    async def submit(self, user_id: str, target_type: str, target_id: str, stars: int, tags: list[str],
                     comment: str | None) -> dict[str, Any]:
        unknown = [t for t in tags if t not in TAGS]
        if unknown:
            raise EvaluationError("unknown_tags", f"不支持的标签：{'、'.join(unknown)}", {"tags": list(TAGS)})
        item_code = department = None
        async with self.db.read() as conn:
            if target_type == "application":
                row = (await conn.execute(sa.select(applications.c.user_id, applications.c.item_code)
                                          .where(applications.c.number == target_id))).first()
                if row is None or row.user_id != user_id:
                    raise EvaluationError("application_not_found", "没有找到这个申请")
                item_code = row.item_code
                department = (await conn.execute(sa.select(service_items.c.department)
                                                 .where(service_items.c.code == item_code))).scalar()
            else:
                turn_id = int(target_id) if target_id.isascii() and target_id.isdigit() else 0
                turn = (await conn.execute(sa.select(chat_turns.c.session_key, chat_turns.c.channel).where(
                    chat_turns.c.id == turn_id))).first() if 0 < turn_id < 2**31 else None  # an INTEGER column
                # the mini-program is where a user is signed in; an anonymous session's answers
                # belong to nobody we know
                if turn is None or turn.channel != MINIAPP or session_owner(turn.session_key) != user_id:
                    raise EvaluationError("answer_not_found", "没有找到这条回答")
        now = utcnow()
        try:
            async with self.db.transaction() as conn:
                result = await conn.execute(evaluations.insert().values(
                    user_id=user_id, target_type=target_type, target_id=target_id, item_code=item_code,
                    department=department, stars=stars, tags=sorted(set(tags)), comment=comment, created_at=now,
                ).returning(evaluations.c.id))
                evaluation_id = int(result.scalar_one())
                followup = None
                if stars <= BAD:
                    followup = now + self.followup
                    await conn.execute(followup_tasks.insert().values(
                        evaluation_id=evaluation_id, status="open", due_at=followup, created_at=now))
        except IntegrityError:
            raise EvaluationError("already_evaluated", "您已经评价过了") from None
        return {"id": evaluation_id, "followup_due_at": followup.isoformat() if followup else None}

    async def stats(self, *, item: str | None = None, department: str | None = None,
                    since: datetime | None = None, until: datetime | None = None) -> dict[str, Any]:
        conditions = [evaluations.c.target_type == "application"]
        if item:
            conditions.append(evaluations.c.item_code == item)
        if department:
            conditions.append(evaluations.c.department == department)
        if since:
            conditions.append(evaluations.c.created_at >= since)
        if until:
            conditions.append(evaluations.c.created_at < until)
        async with self.db.read() as conn:
            rows = list(await conn.execute(sa.select(evaluations.c.stars, evaluations.c.tags).where(*conditions)))
        count = len(rows)
        by_stars = {str(s): sum(1 for r in rows if r.stars == s) for s in range(1, 6)}
        tags: dict[str, int] = {}
        for row in rows:
            for tag in row.tags:
                tags[tag] = tags.get(tag, 0) + 1
        return {"count": count, "average_stars": round(sum(r.stars for r in rows) / count, 2) if count else None,
                "by_stars": by_stars, "bad_share": round(sum(1 for r in rows if r.stars <= BAD) / count, 4) if count else None,
                "tags": dict(sorted(tags.items(), key=lambda kv: (-kv[1], kv[0])))}

    async def open_followups(self) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            rows = await conn.execute(sa.select(followup_tasks, evaluations.c.stars, evaluations.c.comment,
                                                evaluations.c.target_id, evaluations.c.target_type,
                                                evaluations.c.item_code, evaluations.c.department, evaluations.c.tags)
                                      .join(evaluations, evaluations.c.id == followup_tasks.c.evaluation_id)
                                      .where(followup_tasks.c.status == "open").order_by(followup_tasks.c.due_at))
            return [dict(row._mapping) for row in rows]

    async def answer_followup(self, task_id: int, reply: str, actor: str) -> dict[str, Any]:
        """Staff's answer to a bad rating: the task becomes answered, the rater finds the answer in
        their message centre (好差评 asks that the rater hear what was done), and it is audited."""
        reply = reply.strip()
        if not reply:
            raise EvaluationError("reply_required", "请填写整改回复")
        if len(reply) > MAX_REPLY:
            raise EvaluationError("reply_too_long", f"整改回复不能超过 {MAX_REPLY} 字")
        now = utcnow()
        async with self.db.transaction() as conn:
            row = (await conn.execute(sa.select(followup_tasks.c.status, followup_tasks.c.due_at,
                                                evaluations.c.user_id, evaluations.c.target_type,
                                                evaluations.c.target_id)
                                      .join(evaluations, evaluations.c.id == followup_tasks.c.evaluation_id)
                                      .where(followup_tasks.c.id == task_id).with_for_update(of=followup_tasks))).first()
            if row is None:
                raise EvaluationError("followup_not_found", "没有这个整改任务")
            if row.status != "open":
                raise EvaluationError("followup_answered", "该整改任务已经回复过了")
            await conn.execute(followup_tasks.update().where(followup_tasks.c.id == task_id)
                               .values(status="answered", reply=reply, answered_at=now))
            what = f"申请 {row.target_id}" if row.target_type == "application" else "智能客服的回答"
            await conn.execute(user_messages.insert().values(
                user_id=row.user_id, kind="evaluation", title="差评整改回复",
                body=f"您对{what}的评价已收到整改回复：{reply}"[:1000], ref=str(task_id), created_at=now))
            await self.audit.record(conn, actor=actor, action="followup.answer", target_type="followup_task",
                                    target_id=str(task_id), before={"status": "open"},
                                    after={"status": "answered", "reply": reply},
                                    details={"overdue": row.due_at < now})
        return {"id": task_id, "status": "answered", "answered_at": now.isoformat()}
