"""The console's guide pages (办事指南), FAQ editor (常见问题) and synonym editor (同义词).

Guides are edited as drafts (``assistant.guide_drafts``): the list of items and drafts; an item's
page with the published guide, its draft, its versions and the differences between any two of
them (``assistant.guide_diff``); the editor, a plain form with every field of the guide (material
and place rows gain add/remove buttons from ``guides.js``; without script there are two empty
rows); and saving, publishing and discarding a draft. FAQ entries and synonyms are written
straight to the catalog, which checks versions and audits.

A refusal re-renders the form with what was typed and the problems by field; a stale edit shows
a conflict banner and overwrites nothing. After a publication the search indexes are asked to
catch up at once rather than at their next round.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from pydantic import ValidationError
from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from assistant.catalog import CatalogConflict
from assistant.guide_diff import FIELD_LABELS, diff_items, field_lines
from assistant.guide_drafts import GuideDraftError, GuideDrafts, parse_item, validation_problems
from assistant.models import MAX_LIST, MAX_NAME, MAX_SHORT, MAX_TEXT, FaqEntry, Synonym
from console.auth import staff_member
from console.web import done, form_value, form_values, render, sync_search_soon
from web.errors import ApiError, status_of
from web.pages import offset, page_number

bp = Blueprint("console_guides", url_prefix="/console")
CODE = r"<code:[0-9A-Za-z_\-.]{1,64}>"
FAQ_ID = r"<faq_id:[0-9A-Za-z_\-.]{1,64}>"
PAGE_SIZE = 30
SYNONYMS_SHOWN = 200
MATERIAL_FORMS = ("原件", "复印件", "原件和复印件", "电子证照", "原件或电子证照")
ITEM_TYPES = ("行政许可", "行政确认", "行政给付", "行政裁决", "行政奖励", "公共服务", "其他行政权力")
LEVELS = ("省级", "市级", "区县级", "乡镇（街道）级")
SUB_LABELS = {"name": "名称", "form": "形式", "count": "份数", "required": "是否必需", "notes": "备注",
              "address": "地址", "hours": "办公时间", "consult": "咨询电话", "complaint": "投诉电话",
              "available": "可网上办理", "channel": "渠道", "url": "网址", "note": "说明"}
FAQ_LABELS = {"id": "编号", "question": "问题", "answer": "答案", "items": "关联事项", "status": "状态"}
BLANK_ITEM: dict[str, Any] = {"code": "", "name": "", "aliases": [], "department": "", "item_type": "", "audience": [],
                              "level": "", "district": "", "themes": [], "conditions": "", "materials": [],
                              "legal_time_limit": "", "promised_time_limit": "", "fees": "", "places": [],
                              "phones": {}, "online": {}, "courier": None, "visits": None, "process": [],
                              "legal_basis": [], "notes": "", "source_url": "", "status": "active",
                              "valid_from": None, "valid_to": None}


def _drafts(request: Request) -> GuideDrafts:
    drafts: GuideDrafts = request.app.ctx.guide_drafts  # built by the composition root
    return drafts


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) < 10 else None



def _path_label(path: str, labels: dict[str, str] = FIELD_LABELS) -> str:
    """``materials.1.count`` → 申请材料 第 2 行 · 份数."""
    parts = path.split(".")
    words = [labels.get(parts[0], parts[0])]
    for part in parts[1:]:
        words.append(f"第 {int(part) + 1} 行" if part.isdigit() else SUB_LABELS.get(part, part))
    return " · ".join(words)


def _labelled(problems: list[dict[str, str]] | None, labels: dict[str, str] = FIELD_LABELS) -> list[dict[str, str]]:
    return [{**p, "label": _path_label(p["path"], labels) if p.get("path") else ""} for p in problems or []]


def _by_field(problems: list[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    """Problems by the top-level field they are about, to show next to it."""
    shown: dict[str, list[dict[str, str]]] = {}
    for problem in problems:
        shown.setdefault(problem.get("path", "").split(".")[0], []).append(problem)
    return shown


# --- the guide list and an item's page ----------------------------------------------------------
@bp.get("/guides")
async def guides(request: Request) -> HTTPResponse:
    await staff_member(request, "guides.view")
    args = request.args
    chosen = {"q": args.get("q", "")[:100], "department": args.get("department", "")[:MAX_NAME],
              "audience": args.get("audience", "") if args.get("audience") in ("个人", "法人") else "",
              "status": args.get("status", "") if args.get("status") in ("active", "retired") else "",
              "drafts": "1" if args.get("drafts") == "1" else ""}
    page = page_number(request)
    drafts = _drafts(request)
    rows, total = await drafts.overview(words=chosen["q"], department=chosen["department"] or None,
                                        audience=chosen["audience"] or None, status=chosen["status"] or None,
                                        only_drafts=bool(chosen["drafts"]), page=page, page_size=PAGE_SIZE)
    return render(request, "guides/list.html", rows=rows, total=total, page=page, pages=max(1, -(-total // PAGE_SIZE)),
                  chosen=chosen, departments=await drafts.departments(),
                  filter_query=urlencode({k: v for k, v in chosen.items() if v}))


@bp.get(f"/guides/{CODE}")
async def guide(request: Request, code: str) -> HTTPResponse:
    await staff_member(request, "guides.view")
    return await _guide_page(request, code)


async def _guide_page(request: Request, code: str, *, conflict: str | None = None, status: int = 200) -> HTTPResponse:
    ctx = request.app.ctx
    record, draft = await ctx.catalog.get_item(code), await _drafts(request).get(code)
    if record is None and draft is None:
        raise ApiError(404, "item_not_found", f"没有编码为 {code} 的事项")
    history = (await ctx.catalog.item_history(code))[-200:]  # the newest 200 versions are enough to compare
    documents = {h["version"]: h["document"] for h in history}
    versions = sorted(documents)
    older, newer = _int(request.args.get("from", "")), _int(request.args.get("to", ""))
    if older not in documents or newer not in documents:
        older, newer = (versions[-2], versions[-1]) if len(versions) >= 2 else (None, None)
    published = record.item.model_dump(mode="json") if record else None
    session = getattr(request.ctx, "staff_session", None)
    # whoever saved a revision of the draft is not offered publishing it (the service refuses it too)
    own = bool(draft and session and draft.authored_by(session.staff.username))
    audit = sorted(await ctx.audit.entries(target_type="service_item", target_id=code, limit=10)
                   + await ctx.audit.entries(target_type="guide_draft", target_id=code, limit=10),
                   key=lambda entry: entry["at"], reverse=True)[:15]
    return render(
        request, "guides/item.html", status=status, code=code, record=record, draft=draft, own=own, conflict=conflict,
        title_name=record.item.name if record else draft.item.name if draft else code,
        shown=[(label, field_lines(field, published.get(field))) for field, label in FIELD_LABELS.items()]
        if published else [],
        draft_diff=diff_items(published, draft.item.model_dump(mode="json")) if draft else None,
        history=list(reversed(history)), versions=versions, older=older, newer=newer,
        version_diff=diff_items(documents[older], documents[newer]) if older is not None and newer is not None else None,
        audit=audit)


@bp.post(f"/guides/{CODE}/<action:publish|discard>")
async def move(request: Request, code: str, action: str) -> HTTPResponse:
    session = await staff_member(request, "guides.publish" if action == "publish" else "guides.edit")
    drafts, revision = _drafts(request), _int(form_value(request, "revision", limit=10))
    try:
        if action == "publish":
            record = await drafts.publish(session.staff.username, code, revision)
        else:
            await drafts.discard(session.staff.username, code, revision)
    except GuideDraftError as exc:
        if status_of(exc.code) == 409:
            return await _guide_page(request, code, conflict=str(exc), status=409)
        raise
    if action == "discard":
        return done(f"/console/guides/{code}" if await request.app.ctx.catalog.get_item(code) else "/console/guides",
                    "已放弃草稿")
    sync_search_soon(request.app)
    return done(f"/console/guides/{code}", f"已发布第 {record.version} 版，搜索和智能问答随即更新")


# --- the guide editor ----------------------------------------------------------------------------
@bp.get("/guides/new")
async def new_guide(request: Request) -> HTTPResponse:
    await staff_member(request, "guides.edit")
    return await _editor(request, dict(BLANK_ITEM), new=True, revision="", base_version="")


@bp.get(f"/guides/{CODE}/edit")
async def edit_guide(request: Request, code: str) -> HTTPResponse:
    await staff_member(request, "guides.edit")
    draft = await _drafts(request).get(code)
    if draft is not None:  # an open draft is where the next edit goes
        return await _editor(request, draft.item.model_dump(mode="json"), new=draft.base_version is None,
                             revision=str(draft.revision), base_version=str(draft.base_version or ""), draft=True)
    record = await request.app.ctx.catalog.get_item(code)
    if record is None:
        raise ApiError(404, "item_not_found", f"没有编码为 {code} 的事项")
    return await _editor(request, record.item.model_dump(mode="json"), new=False, revision="",
                         base_version=str(record.version))


@bp.post("/guides/save")
async def save_guide(request: Request) -> HTTPResponse:
    session = await staff_member(request, "guides.edit")
    entered = _read_guide_form(request)
    revision, base_version = form_value(request, "revision", limit=10), form_value(request, "base_version", limit=10)
    keep: dict[str, Any] = {"new": form_value(request, "is_new") == "1", "revision": revision if revision.isdigit() else "",
            "base_version": base_version if base_version.isdigit() else "", "draft": bool(revision)}
    try:
        draft = await _drafts(request).save(session.staff.username, parse_item(entered), _int(base_version),
                                            _int(revision))
    except GuideDraftError as exc:
        if status_of(exc.code) == 409:
            return await _editor(request, entered, status=409, conflict=str(exc), **keep)
        problems = exc.details if isinstance(exc.details, list) else [{"path": "", "message": str(exc)}]
        return await _editor(request, entered, status=status_of(exc.code), problems=problems, **keep)
    return done(f"/console/guides/{draft.code}", f"草稿已保存（第 {draft.revision} 次修改），发布后生效")


def _lines(request: Request, name: str) -> list[str]:
    text = form_value(request, name, limit=MAX_TEXT * 4)
    return [line.strip()[:MAX_TEXT + 1] for line in text.splitlines() if line.strip()][:MAX_LIST + 1]


def _rows(request: Request, prefix: str, keys: tuple[str, ...]) -> list[dict[str, str]]:
    """The table rows of a form (``material_name``, ``material_form``…), the empty ones left out."""
    columns = [form_values(request, f"{prefix}_{key}", limit=MAX_SHORT + 1)[:MAX_LIST + 3] for key in keys]
    rows = []
    for index in range(max((len(c) for c in columns), default=0)):
        row = {key: column[index] if index < len(column) else "" for key, column in zip(keys, columns, strict=True)}
        if any(value for key, value in row.items() if key != "required"):
            rows.append(row)
    return rows[:MAX_LIST + 1]


def _read_guide_form(request: Request) -> dict[str, Any]:
    """The editor's fields as a guide document; the model checks it (and says what is wrong)."""
    def text(name: str, limit: int = MAX_SHORT) -> str:
        return form_value(request, name, limit=limit + 1)  # one more than allowed: "too long" is reported, not cut

    materials = [{"name": m["name"], "form": m["form"] or None, "count": m["count"] or None,
                  "required": m["required"] != "false", "notes": m["notes"]}
                 for m in _rows(request, "material", ("name", "form", "count", "required", "notes"))]
    return {
        "code": text("code", 64), "name": text("name", MAX_NAME), "aliases": _lines(request, "aliases"),
        "department": text("department", MAX_NAME), "item_type": text("item_type", 32),
        "audience": form_values(request, "audience", limit=10)[:3], "level": text("level", 32),
        "district": text("district", 64), "themes": _lines(request, "themes"),
        "conditions": text("conditions", MAX_TEXT), "materials": materials,
        "legal_time_limit": text("legal_time_limit"), "promised_time_limit": text("promised_time_limit"),
        "fees": text("fees", MAX_TEXT), "places": _rows(request, "place", ("name", "address", "hours")),
        "phones": {"consult": text("phone_consult"), "complaint": text("phone_complaint")},
        "online": {"available": form_value(request, "online_available") == "true", "channel": text("online_channel"),
                   "url": text("online_url"), "note": text("online_note")},
        "courier": {"true": True, "false": False}.get(form_value(request, "courier")),
        "visits": text("visits", 5) or None, "process": _lines(request, "process"),
        "legal_basis": _lines(request, "legal_basis"), "notes": text("notes", MAX_TEXT),
        "source_url": text("source_url"), "status": text("status", 10) or "active",
        "valid_from": text("valid_from", 10) or None, "valid_to": text("valid_to", 10) or None,
    }


async def _editor(request: Request, entered: dict[str, Any], *, new: bool, revision: str, base_version: str,
                  draft: bool = False, problems: list[dict[str, str]] | None = None, conflict: str | None = None,
                  status: int = 200) -> HTTPResponse:
    drafts, problems = _drafts(request), _labelled(problems)
    return render(request, "guides/edit.html", status=status, entered={**BLANK_ITEM, **entered}, new=new,
                  revision=revision, base_version=base_version, draft=draft, problems=problems,
                  by_field=_by_field(problems), conflict=conflict, departments=await drafts.departments(),
                  MATERIAL_FORMS=MATERIAL_FORMS, ITEM_TYPES=ITEM_TYPES, LEVELS=LEVELS, FIELD_LABELS=FIELD_LABELS,
                  MAX=dict(name=MAX_NAME, short=MAX_SHORT, text=MAX_TEXT))


# --- FAQ ---------------------------------------------------------------------------------------
@bp.get("/faq")
async def faq_list(request: Request) -> HTTPResponse:
    await staff_member(request, "guides.view")
    catalog = request.app.ctx.catalog
    words = [w.lower() for w in request.args.get("q", "")[:100].split()[:5]]
    item = request.args.get("item", "")[:64].strip()
    entries = [e for e in await catalog.faq(include_retired=True)
               if (not item or item in e.items)
               and all(w in e.id.lower() or w in e.question.lower() or w in e.answer.lower() for w in words)]
    page = page_number(request)
    chosen = {"q": request.args.get("q", "")[:100], "item": item}
    return render(request, "guides/faq_list.html", entries=entries[offset(page, PAGE_SIZE):page * PAGE_SIZE],
                  total=len(entries), page=page, pages=max(1, -(-len(entries) // PAGE_SIZE)), chosen=chosen,
                  versions=await catalog.faq_versions(), names=await _drafts(request).item_names(),
                  filter_query=urlencode({k: v for k, v in chosen.items() if v}))


@bp.get("/faq/new")
async def new_faq(request: Request) -> HTTPResponse:
    await staff_member(request, "faq.edit")
    item = request.args.get("item", "")[:64]
    return await _faq_editor(request, {"id": "", "question": "", "answer": "", "items": [item] if item else [],
                                       "status": "active"}, version="", new=True)


@bp.get(f"/faq/{FAQ_ID}/edit")
async def edit_faq(request: Request, faq_id: str) -> HTTPResponse:
    await staff_member(request, "faq.edit")
    found = await request.app.ctx.catalog.faq_entry(faq_id)
    if found is None:
        raise ApiError(404, "faq_not_found", f"没有编号为 {faq_id} 的常见问题")
    entry, version = found
    return await _faq_editor(request, entry.model_dump(mode="json"), version=str(version), new=False)


@bp.post("/faq/save")
async def save_faq(request: Request) -> HTTPResponse:
    session = await staff_member(request, "faq.edit")
    codes = list(dict.fromkeys(c for c in form_values(request, "items", limit=65)[:MAX_LIST + 1] if c))
    entered = {"id": form_value(request, "id", limit=65), "question": form_value(request, "question", limit=MAX_SHORT + 1),
               "answer": form_value(request, "answer", limit=MAX_TEXT + 1), "items": codes,
               "status": form_value(request, "status", "active", limit=10)}
    version, new = form_value(request, "version", limit=10), form_value(request, "is_new") == "1"
    keep: dict[str, Any] = {"version": version if version.isdigit() else "", "new": new}
    try:
        entry = FaqEntry.model_validate(entered)
    except ValidationError as exc:
        return await _faq_editor(request, entered, status=422, problems=validation_problems(exc), **keep)
    try:
        saved = await request.app.ctx.catalog.save_faq(entry, actor=session.staff.username,
                                                       expected_version=_int(version))
    except CatalogConflict as exc:
        if exc.code == "unknown_items":
            return await _faq_editor(request, entered, status=422, problems=[{"path": "items", "message": str(exc)}],
                                     **keep)
        return await _faq_editor(request, entered, status=409, conflict=str(exc), **keep)
    sync_search_soon(request.app)  # FAQ questions are part of what search indexes of their items
    return done(f"/console/faq?q={entry.id}", f"已保存常见问题 {entry.id}（第 {saved} 版），智能问答随即采用")


async def _faq_editor(request: Request, entered: dict[str, Any], *, version: str, new: bool,
                      problems: list[dict[str, str]] | None = None, conflict: str | None = None,
                      status: int = 200) -> HTTPResponse:
    problems = _labelled(problems, FAQ_LABELS)
    return render(request, "guides/faq_edit.html", status=status, entered=entered, version=version, new=new,
                  problems=problems, by_field=_by_field(problems), conflict=conflict,
                  names=await _drafts(request).item_names(), FAQ_LABELS=FAQ_LABELS)


# --- synonyms ----------------------------------------------------------------------------------
@bp.get("/synonyms")
async def synonyms(request: Request) -> HTTPResponse:
    await staff_member(request, "guides.view")
    return await _synonyms_page(request, request.args.get("q", "")[:100])


async def _synonyms_page(request: Request, text: str, *, entered: dict[str, str] | None = None,
                         problems: list[dict[str, str]] | None = None, status: int = 200) -> HTTPResponse:
    words = text.split()[:5]
    pairs = [p for p in await request.app.ctx.catalog.synonyms()
             if all(w in p.colloquial or w in p.official for w in words)]
    return render(request, "guides/synonyms.html", status=status, pairs=pairs[:SYNONYMS_SHOWN], total=len(pairs),
                  q=text, entered=entered or {"colloquial": "", "official": ""}, problems=problems or [])


@bp.post("/synonyms")
async def save_synonym(request: Request) -> HTTPResponse:
    """``action``: add (a new colloquial term), change (its official term) or retire."""
    session = await staff_member(request, "synonyms.edit")
    action = form_value(request, "action", limit=10)
    if action not in ("add", "change", "retire"):
        raise ApiError(400, "unknown_action", "未知的操作")
    entered = {"colloquial": form_value(request, "colloquial", limit=101),
               "official": form_value(request, "official", limit=101)}
    try:
        pair = Synonym.model_validate(entered)
    except ValidationError as exc:
        problems = [{**p, "path": {"colloquial": "口语词", "official": "规范词"}.get(p["path"], p["path"])}
                    for p in validation_problems(exc)]
        return await _synonyms_page(request, "", entered=entered, problems=problems, status=422)
    existing = {p.colloquial: p.official for p in await request.app.ctx.catalog.synonyms()}
    if action == "add" and pair.colloquial in existing:  # adding is not a silent way of changing
        return await _synonyms_page(request, pair.colloquial, entered=entered, status=409, problems=[{
            "path": "口语词", "message": f"“{pair.colloquial}”已对应“{existing[pair.colloquial]}”，请在下方列表中修改"}])
    if action != "add" and pair.colloquial not in existing:
        raise ApiError(404, "synonym_not_found", f"没有口语词“{pair.colloquial}”")
    await request.app.ctx.catalog.save_synonym(pair, actor=session.staff.username, retire=action == "retire")
    sync_search_soon(request.app)
    notice = {"add": "已添加", "change": "已修改", "retire": "已停用"}[action]
    return done(f"/console/synonyms?{urlencode({'q': pair.colloquial})}", f"{notice}同义词“{pair.colloquial}”")
