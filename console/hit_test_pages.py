"""The console's hit testing pages (命中测试): one question with each search method's own score,
the fused ranking, the confidence, the intent and the answer the assistant would give (a dry run
that stores nothing), and batch hit testing of a bundled or uploaded query file.

The logic is ``assistant.hit_test.HitTester``; these handlers read the form and render.
"""

from __future__ import annotations

import html
import re

from sanic import Blueprint, Request, Sanic
from sanic.response import HTTPResponse

from assistant.hit_test import MAX_QUESTION, MAX_TOP_K, MAX_UPLOAD_BYTES, HitTester, HitTestError
from assistant.search import METHODS, SearchError, SearchFilters
from console.auth import staff_member
from console.web import form_value, render, template_filter
from web.errors import status_of

bp = Blueprint("console_hit_test", url_prefix="/console/hit-test")

FACETS = (("audience", "服务对象"), ("department", "实施部门"), ("item_type", "事项类型"), ("level", "层级"),
          ("district", "区县"))
METHOD_NAMES = {"lexical": "关键词", "vector": "语义向量", "fuzzy": "名称模糊/拼音", "fused": "融合"}
INTENT_NAMES = {"consult": "办事咨询", "policy": "政策咨询", "progress": "进度查询", "demand": "投诉建议求助",
                "human": "转人工", "greeting": "问候/闲聊", "out_of_scope": "超出范围"}


@template_filter("snippet_parts")
def snippet_parts(snippet: str) -> list[tuple[str, bool]]:
    """A search snippet (escaped HTML, matched words in <em>) as plain pieces and whether each
    matched, so the template escapes the text itself rather than trusting markup."""
    pieces = re.split(r"<em>(.*?)</em>", snippet)
    return [(html.unescape(piece), index % 2 == 1) for index, piece in enumerate(pieces) if piece]


def hit_tester(app: Sanic) -> HitTester:
    """The hit tester the composition root built."""
    tester: HitTester = app.ctx.hit_tester
    return tester


def assistant_state(app: Sanic) -> str:
    """ready, off (switched off or no embedder), failed, or starting."""
    if app.ctx.dialogue is not None:
        return "ready"
    component = app.ctx.readiness.components.get("assistant", {})
    if component.get("enabled") is False:
        return "off"
    return "failed" if component.get("error") else "starting"


@bp.get("/")
async def single(request: Request) -> HTTPResponse:
    await staff_member(request, "hit_test")
    search = request.app.ctx.search
    question = request.args.get("q", "").strip()[:MAX_QUESTION]
    raw_top_k = request.args.get("top_k", "10")
    top_k = max(1, min(int(raw_top_k), MAX_TOP_K)) if raw_top_k.isdigit() else 10
    chosen = {name: request.args.get(name, "").strip()[:100] for name, _ in FACETS}
    filters = SearchFilters(**{name: value or None for name, value in chosen.items()})
    report, error, status = None, None, 200
    if question:
        try:
            report = await hit_tester(request.app).test(question, filters, top_k)
        except SearchError as exc:
            error, status = str(exc), 422
    return render(request, "hit_test/single.html", status=status, q=question, top_k=top_k, max_top_k=MAX_TOP_K,
                  max_question=MAX_QUESTION, chosen=chosen, error=error, report=report,
                  facets=[(name, label, search.allowed_values(name)) for name, label in FACETS],
                  methods=METHODS, METHOD_NAMES=METHOD_NAMES, INTENT_NAMES=INTENT_NAMES,
                  vector_ready=search.vector_ready, assistant=assistant_state(request.app))


@bp.get("/batch")
async def batch_form(request: Request) -> HTTPResponse:
    await staff_member(request, "hit_test")
    return _batch_page(request)


@bp.post("/batch")
async def batch_run(request: Request) -> HTTPResponse:
    await staff_member(request, "hit_test")
    tester = hit_tester(request.app)
    upload = request.files.get("file") if request.files else None
    bundled = form_value(request, "bundled", limit=100)
    try:
        if upload is not None and upload.body:
            query_file = tester.uploaded(upload.name or "", upload.body)
        elif bundled:
            query_file = tester.bundled(bundled)
        else:
            raise HitTestError("no_file", "请选择一个内置查询文件，或上传一个 JSONL 文件")
        report = await tester.batch(query_file.queries)
    except HitTestError as exc:
        if status_of(exc.code) == 404:
            raise
        return _batch_page(request, error=str(exc), status=status_of(exc.code), bundled=bundled)
    return _batch_page(request, report=report, query_file=query_file, bundled=bundled)


def _batch_page(request: Request, *, status: int = 200, **values: object) -> HTTPResponse:
    tester = hit_tester(request.app)
    values.setdefault("bundled", "")
    return render(request, "hit_test/batch.html", status=status, files=tester.bundled_files(),
                  max_kb=MAX_UPLOAD_BYTES // 1024, runs=("fused", *METHODS), METHOD_NAMES=METHOD_NAMES,
                  running=tester.batch_running, vector_ready=request.app.ctx.search.vector_ready, **values)
