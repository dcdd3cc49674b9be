"""The console's unanswered questions page (未解决问题): groups of similar questions the assistant
and the search could not answer, within a range of China dates, and the three ways staff close a
group — 转为常见问题 (a new FAQ entry), 添加同义词 (a colloquial → official term), 忽略.

Grouping and marking handled are ``assistant.unanswered.UnansweredService``; FAQ and synonyms are
saved through ``CatalogService``. A refused FAQ or synonym re-renders the page with what was
typed and what to fix.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from pydantic import ValidationError
from sanic import Blueprint, Request, Sanic
from sanic.response import HTTPResponse

from assistant.catalog import CatalogConflict
from assistant.models import FaqEntry, Synonym
from assistant.unanswered import HASH, MAX_HANDLED, MAX_RANGE_DAYS, UnansweredService
from china_time import today
from console.auth import staff_member
from console.web import done, form_value, form_values, render, sync_search_soon
from web.errors import ApiError

bp = Blueprint("console_unanswered", url_prefix="/console/unanswered")

DEFAULT_DAYS = 30
MAX_LINKED_ITEMS = 10
KIND_NAMES = {"no_answer": "未能回答", "unhelpful": "反馈没用", "search": "搜索无结果"}
CHANNEL_NAMES = {"miniapp": "小程序", "wechat": "公众号", "api": "开放接口", "eval": "评测"}
_CODES = re.compile(r"[\s,，、;；]+")


def unanswered_service(app: Sanic) -> UnansweredService:
    """The service the composition root built."""
    service: UnansweredService = app.ctx.unanswered
    return service


def _date_range(start_text: str, end_text: str) -> tuple[date, date]:
    """The range asked for; by default the last 30 days, today included."""
    try:
        end = date.fromisoformat(end_text) if end_text else today()
        start = date.fromisoformat(start_text) if start_text else end - timedelta(days=DEFAULT_DAYS - 1)
    except ValueError:
        raise ApiError(400, "invalid_date", "日期格式应为 YYYY-MM-DD") from None
    if start > end:
        start, end = end, start
    return max(start, end - timedelta(days=MAX_RANGE_DAYS - 1)), end


@bp.get("/")
async def page(request: Request) -> HTTPResponse:
    await staff_member(request, "unanswered.view")
    start, end = _date_range(request.args.get("from", "")[:10], request.args.get("to", "")[:10])
    return await _page(request, start, end)


async def _page(request: Request, start: date, end: date, *, status: int = 200,
                failed: dict[str, Any] | None = None) -> HTTPResponse:
    report = await unanswered_service(request.app).groups(start, end)
    return render(request, "unanswered/list.html", status=status, report=report, start=start, end=end,
                  failed=failed or {}, faq_id_prefix=f"faq-u{today():%y%m%d}-", max_days=MAX_RANGE_DAYS,
                  KIND_NAMES=KIND_NAMES, CHANNEL_NAMES=CHANNEL_NAMES)


def _group_fields(request: Request) -> tuple[date, date, list[str], str, str]:
    """What every action posts: the page's range, the group's text hashes, its key and representative."""
    start, end = _date_range(form_value(request, "from", limit=10), form_value(request, "to", limit=10))
    hashes = [h for h in form_values(request, "hash", limit=64)[:MAX_HANDLED] if HASH.match(h)]
    if not hashes:
        raise ApiError(422, "no_questions", "没有指明要处理的问题")
    return start, end, hashes, hashes[0], form_value(request, "representative", limit=500)



def _back(start: date, end: date) -> str:
    return "/console/unanswered/?" + urlencode({"from": start.isoformat(), "to": end.isoformat()})


@bp.post("/faq")
async def to_faq(request: Request) -> HTTPResponse:
    session = await staff_member(request, "faq.edit")
    start, end, hashes, key, representative = _group_fields(request)
    entered = {"faq_id": form_value(request, "faq_id", limit=64), "question": form_value(request, "question", limit=500),
               "answer": form_value(request, "answer", limit=5000), "items": form_value(request, "items", limit=800)}
    codes = [c for c in _CODES.split(entered["items"]) if c][:MAX_LINKED_ITEMS]
    try:
        entry = FaqEntry(id=entered["faq_id"], question=entered["question"], answer=entered["answer"], items=codes)
        await request.app.ctx.catalog.save_faq(entry, actor=session.staff.username, expected_version=None)
    except ValidationError as exc:
        fields = {"id": "编号（字母、数字、-、_、.）", "question": "问题", "answer": "答案", "items": "关联事项"}
        wrong = "、".join(dict.fromkeys(fields.get(str(e["loc"][0]), str(e["loc"][0])) for e in exc.errors()))
        return await _page(request, start, end, status=422, failed={
            "key": key, "action": "faq", "message": f"请检查：{wrong}", "values": entered})
    except CatalogConflict as exc:
        return await _page(request, start, end, status=409, failed={
            "key": key, "action": "faq", "message": str(exc), "values": entered})
    count = await unanswered_service(request.app).mark_handled(
        hashes, outcome="faq", actor=session.staff.username, target=entry.id, representative=representative)
    sync_search_soon(request.app)
    return done(_back(start, end), f"已创建常见问题 {entry.id}，{count} 个问题已处理")


@bp.post("/synonym")
async def to_synonym(request: Request) -> HTTPResponse:
    session = await staff_member(request, "synonyms.edit")
    start, end, hashes, key, representative = _group_fields(request)
    entered = {"colloquial": form_value(request, "colloquial", limit=100),
               "official": form_value(request, "official", limit=100)}
    try:
        pair = Synonym(**entered)
    except ValidationError:
        return await _page(request, start, end, status=422, failed={
            "key": key, "action": "synonym", "message": "口语说法和规范用语都要填写（各不超过 100 字）",
            "values": entered})
    if pair.colloquial == pair.official:
        return await _page(request, start, end, status=422, failed={
            "key": key, "action": "synonym", "message": "口语说法与规范用语相同，无需添加", "values": entered})
    await request.app.ctx.catalog.save_synonym(pair, actor=session.staff.username)
    count = await unanswered_service(request.app).mark_handled(
        hashes, outcome="synonym", actor=session.staff.username, target=f"{pair.colloquial} → {pair.official}",
        representative=representative)
    sync_search_soon(request.app)
    return done(_back(start, end), f"已添加同义词“{pair.colloquial}”→“{pair.official}”，{count} 个问题已处理")


@bp.post("/dismiss")
async def dismiss(request: Request) -> HTTPResponse:
    # dismissing is curation of the knowledge base's work queue: the editors' job, like adding an FAQ
    session = await staff_member(request, "faq.edit")
    start, end, hashes, _, representative = _group_fields(request)
    count = await unanswered_service(request.app).mark_handled(
        hashes, outcome="dismissed", actor=session.staff.username, representative=representative)
    return done(_back(start, end), f"已忽略 {count} 个问题")
