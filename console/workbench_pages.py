"""The approval workbench (审批工作台): the queue of submitted applications in the embedded mode,
one application with its form data, attachments and timeline, and the decisions its status allows
(受理, 补正, 审批通过, 不予受理/不予批准). ``smartform.approval.Workbench`` decides what is allowed,
tells the citizen and audits; these handlers only translate. When an external approval back end
is configured (``app.ctx.workbench`` is None) the page says approvals are handled there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, file

from china_time import CHINA
from console.auth import staff_member
from console.web import done, form_value, render
from smartform.approval import ACTIONS, MAX_REASON, WorkbenchError
from web.errors import ApiError, status_of

bp = Blueprint("console_workbench", url_prefix="/console")
NUMBER = r"<number:SQ[0-9]{14}>"
MIME_TYPES = {"pdf": "application/pdf", "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg"}


def waited(since: datetime, now: datetime) -> str:
    """How long an application has waited, as a clerk says it."""
    minutes = max(int((now - since).total_seconds() // 60), 0)
    days, hours = minutes // 1440, minutes % 1440 // 60
    if days:
        return f"{days} 天 {hours} 小时"
    return f"{hours} 小时 {minutes % 60} 分" if hours else f"{minutes % 60} 分钟"


@bp.get("/workbench")
async def queue(request: Request) -> HTTPResponse:
    await staff_member(request, "applications.process")
    workbench = request.app.ctx.workbench
    if workbench is None:
        return render(request, "workbench/external.html")
    now = datetime.now(CHINA)
    rows = await workbench.queue()
    return render(request, "workbench/queue.html", rows=rows, waited={r["number"]: waited(r["submitted_at"], now)
                                                                      for r in rows})


@bp.get(f"/workbench/{NUMBER}")
async def case(request: Request, number: str) -> HTTPResponse:
    await staff_member(request, "applications.process")
    return await _case_page(request, number)


@bp.get(f"/workbench/{NUMBER}/attachments/<attachment_id:[0-9a-f]{{32}}>")
async def attachment(request: Request, number: str, attachment_id: str) -> HTTPResponse:
    session = await staff_member(request, "applications.process")
    workbench = request.app.ctx.workbench
    found = await workbench.attachment(number, attachment_id, session.staff.username) if workbench else None
    path = request.app.ctx.drafts.stored_file(found["sha256"]) if found else None
    if path is None or not path.exists():
        raise ApiError(404, "attachment_not_found", "没有这份附件")
    return await file(path, mime_type=MIME_TYPES.get(found["file_type"], "application/octet-stream"),
                      filename=found["filename"])


@bp.post(f"/workbench/{NUMBER}/<action:accept|supplement|approve|reject>")
async def decide(request: Request, number: str, action: str) -> HTTPResponse:
    session = await staff_member(request, "applications.process")
    workbench = request.app.ctx.workbench
    if workbench is None:
        raise ApiError(409, "external_approval", "审批在外部审批系统中办理，本工作台未启用")
    reason = form_value(request, "reason", limit=MAX_REASON + 100)
    try:
        status = await workbench.act(number, action, reason, session.staff.username)
    except WorkbenchError as exc:
        if status_of(exc.code) == 404:
            raise
        # shown on the application's own page, with what was typed, so the approver sees its state now
        return await _case_page(request, number, error=str(exc), entered={action: reason}, status=status_of(exc.code))
    labels = {"accepted": "已受理", "supplement_requested": "已要求补正", "approved": "已审批通过（办结）",
              "rejected": "已作出不予受理/不予批准决定"}
    return done(f"/console/workbench/{number}", f"申请 {number} {labels[status]}，已通知申请人")


async def _case_page(request: Request, number: str, *, error: str | None = None,
                     entered: dict[str, str] | None = None, status: int = 200) -> HTTPResponse:
    workbench = request.app.ctx.workbench
    if workbench is None:
        return render(request, "workbench/external.html")
    found = await workbench.case(number)
    if found is None:
        raise ApiError(404, "application_not_found", f"工作台中没有申请 {number}")
    form = request.app.ctx.forms.get(found["item_code"]) if hasattr(request.app.ctx, "forms") else None
    return render(request, "workbench/case.html", status=status, case=found, fields=_fields(form, found["data"]),
                  attachments=_attachments(form, found["attachments"]), actions=ACTIONS, error=error,
                  entered=entered or {}, waited=waited(found["submitted_at"], datetime.now(CHINA)),
                  max_reason=MAX_REASON)


def _fields(form: Any, data: dict[str, Any]) -> list[tuple[str, str]]:
    """The form's answers in the form's own order and words; keys the form no longer has last."""
    labels = {f.key: f.label for f in form.fields} if form is not None else {}
    ordered = [k for k in labels if k in data] + sorted(k for k in data if k not in labels)
    return [(labels.get(key, key), _shown(data[key])) for key in ordered]


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return "" if value is None else str(value)


def _attachments(form: Any, files: list[dict[str, Any]]) -> list[dict[str, Any]]:
    labels = {a.key: a.label for a in form.attachments} if form is not None else {}
    return [{"id": f.get("id", ""), "label": labels.get(f.get("key", ""), f.get("key", "")), "filename": f.get("filename", ""),
             "file_type": f.get("file_type", ""), "size": _size(int(f.get("size") or 0)),
             "sha256": str(f.get("sha256", ""))[:12]} for f in files]


def _size(size: int) -> str:
    return f"{size} 字节" if size < 1024 else f"{size / 1024:.1f} KB" if size < 1024 * 1024 else f"{size / 1048576:.1f} MB"
