"""Operations (运维): the outbox's dead letters with retry and discard (#dead-letters), 12345 demand
tickets with filters and their one-step-forward status change (#demands), and the follow-up
tasks bad ratings opened (差评整改), overdue ones marked, with their answer form (#followups).

``Outbox``, ``DemandDesk`` and ``Evaluations`` check and audit every action; a refusal re-renders
the page with the message in its section and what was typed kept.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from assistant.demands import FLOW, MAX_NOTE, STATUS_TEXT, DemandDesk, DemandError
from china_time import CHINA
from console.auth import staff_member
from console.web import done, form_value, render
from smartform.evaluations import MAX_REPLY, EvaluationError
from web.errors import ApiError, status_of
from web.pages import offset, page_number

bp = Blueprint("console_operations", url_prefix="/console")
PAGE_SIZE = 30
TICKET = r"<number:12345[0-9]{12}>"
MAX_ID = 2**31 - 1  # an id past the column's range is simply not there (PostgreSQL would refuse it)
OUTBOX_KINDS = {"approval.handoff": "推送审批系统", "wechat.custom": "客服消息", "wechat.template": "模板消息",
                "wechat.subscribe": "订阅消息", "wechat.late_reply": "公众号延迟回复"}


def demand_desk(request: Request) -> DemandDesk:
    """The ticket desk the composition root built."""
    desk: DemandDesk = request.app.ctx.demand_desk
    return desk


@bp.get("/operations")
async def operations(request: Request) -> HTTPResponse:
    await staff_member(request, "operations.manage")
    return await _page(request)


async def _page(request: Request, *, status: int = 200, errors: dict[str, str] | None = None,
                entered: dict[str, Any] | None = None) -> HTTPResponse:
    ctx = request.app.ctx
    desk = demand_desk(request)
    args = request.args
    categories = await desk.categories()
    category = args.get("category", "")[:32]
    category = category if category in categories else ""
    ticket_status = args.get("status", "")
    ticket_status = ticket_status if ticket_status in FLOW else ""
    page = page_number(request, maximum=1000)
    tickets, total = await desk.tickets(category=category or None, status=ticket_status or None,
                                        offset=offset(page, PAGE_SIZE), limit=PAGE_SIZE)
    now = datetime.now(CHINA)
    followups = await ctx.evaluations.open_followups()
    return render(request, "operations/page.html", status=status, dead=await ctx.outbox.dead_letters(limit=200),
                  counts=await ctx.outbox.counts(), kinds=OUTBOX_KINDS, tickets=tickets, total=total,
                  categories=categories, category=category, ticket_status=ticket_status, page=page,
                  pages=max(1, -(-total // PAGE_SIZE)), flow=FLOW, status_text=STATUS_TEXT, followups=followups,
                  overdue={f["id"] for f in followups if f["due_at"] < now}, errors=errors or {},
                  entered=entered or {}, max_note=MAX_NOTE, max_reply=MAX_REPLY)


# --- dead letters ------------------------------------------------------------------------------
@bp.post("/operations/dead-letters/<job_id:int>/<action:retry|discard>")
async def dead_letter(request: Request, job_id: int, action: str) -> HTTPResponse:
    session = await staff_member(request, "operations.manage")
    if job_id > MAX_ID:
        raise ApiError(404, "job_not_found", f"没有任务 {job_id}")
    outbox = request.app.ctx.outbox
    resolve = outbox.retry_dead if action == "retry" else outbox.discard_dead
    if not await resolve(job_id, session.staff.username):
        return await _page(request, status=409, errors={"dead-letters": f"任务 {job_id} 已不在发送失败列表中（可能已被他人处理）"})
    if action == "retry":
        worker = getattr(request.app.ctx, "outbox_worker", None)
        if worker is not None:
            worker.wake()  # try now, not at the next poll
    return done("/console/operations#dead-letters",
                f"任务 {job_id} 已{'重新排队发送' if action == 'retry' else '丢弃'}")


# --- 12345 tickets -----------------------------------------------------------------------------
@bp.post(f"/operations/demands/{TICKET}")
async def advance_ticket(request: Request, number: str) -> HTTPResponse:
    session = await staff_member(request, "operations.manage")
    status, note = form_value(request, "status", limit=16), form_value(request, "note", limit=MAX_NOTE + 100)
    try:
        ticket = await demand_desk(request).advance(number, status, note, session.staff.username)
    except DemandError as exc:
        if status_of(exc.code) == 404:
            raise
        return await _page(request, status=status_of(exc.code), errors={"demands": f"工单 {number}：{exc}"},
                           entered={"ticket": number, "note": note})
    return done("/console/operations#demands", f"工单 {number} 已更新为“{ticket.status_text}”")


# --- follow-ups of bad ratings ------------------------------------------------------------------
@bp.post("/operations/followups/<task_id:int>")
async def answer_followup(request: Request, task_id: int) -> HTTPResponse:
    session = await staff_member(request, "operations.manage")
    if task_id > MAX_ID:
        raise ApiError(404, "followup_not_found", "没有这个整改任务")
    reply = form_value(request, "reply", limit=MAX_REPLY + 100)
    try:
        await request.app.ctx.evaluations.answer_followup(task_id, reply, session.staff.username)
    except EvaluationError as exc:
        if status_of(exc.code) == 404:
            raise
        return await _page(request, status=status_of(exc.code), errors={"followups": str(exc)},
                           entered={"followup": task_id, "reply": reply})
    return done("/console/operations#followups", "整改回复已提交，已通知评价人")
