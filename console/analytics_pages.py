"""The analytics dashboard (数据分析): every figure of ``assistant.analytics.Analytics`` for a range of
China dates (by default the last 30 days), each drawn with ``console.svg`` beside its table, and
each exportable as CSV (``/console/analytics.csv?section=…&from=…&to=…``, written by
``csv_export``: UTF-8 with a BOM so that Excel reads the Chinese, formulas defused). Nothing
personal is shown: the service selects no user, session or enterprise identifiers, and typed
texts are masked.
"""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, raw

from assistant.analytics import SECTIONS, Analytics, AnalyticsError, DateRange
from china_time import today
from console.auth import staff_member
from console.svg import bar_chart, line_chart
from console.web import render
from csv_export import to_csv
from web.errors import ApiError, status_of

bp = Blueprint("console_analytics", url_prefix="/console")
SECTION_NAMES = dict(SECTIONS)
LINES = 5  # the demand chart draws this many categories, and the rest as one line


def analytics(request: Request) -> Analytics:
    """The service the composition root built."""
    service: Analytics = request.app.ctx.analytics
    return service


def _period(request: Request) -> DateRange:
    return DateRange.parse(request.args.get("from", "")[:20], request.args.get("to", "")[:20],
                           today())


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


@bp.get("/analytics")
async def dashboard(request: Request) -> HTTPResponse:
    await staff_member(request, "analytics.view")
    try:
        period = _period(request)
    except AnalyticsError as exc:
        return render(request, "analytics/dashboard.html", status=status_of(exc.code), error=str(exc), period=None,
                      entered={"from": request.args.get("from", "")[:20], "to": request.args.get("to", "")[:20]})
    service = analytics(request)
    queries = await service.queries_per_day(period)
    top = await service.top_queries(period)
    no_result = await service.no_result_rate(period)
    intents = await service.intent_mix(period)
    feedback = await service.answer_feedback(period)
    by_item = await service.satisfaction_by_item(period)
    by_department = await service.satisfaction_by_department(period)
    demands = await service.demand_categories(period)
    pushes = await service.pushes(period)
    demand_lines = {c["category"]: c["per_day"] for c in demands["categories"][:LINES]}
    if len(demands["categories"]) > LINES:
        demand_lines["其他"] = [sum(day) for day in zip(*(c["per_day"] for c in demands["categories"][LINES:]),
                                                        strict=True)]
    charts = {
        "queries": line_chart(queries["days"], {"搜索": queries["search"], "对话": queries["chat"]},
                              title="每日搜索次数与对话轮次"),
        "top_queries": bar_chart([(r["query"], r["count"]) for r in top[:15]], title="热门搜索词（次）"),
        "no_result": bar_chart([(label, round((rate or 0) * 100, 1)) for label, rate in (
            ("搜索无结果", no_result["no_result_rate"]), ("搜索无可靠结果", no_result["no_good_match_rate"]),
            ("对话未能回答", no_result["no_answer_rate"]))] if no_result["searches"] or no_result["turns"] else [],
            title="无结果率", unit="%"),
        "intents": bar_chart([(r["name"], r["count"]) for r in intents], title="对话意图分布（次）"),
        "feedback": bar_chart([("有帮助", feedback["helpful"]), ("没有帮助", feedback["not_helpful"])]
                              if feedback["rated"] else [], title="回答反馈（次）"),
        "satisfaction_items": bar_chart([(r["item_name"], r["average_stars"]) for r in by_item[:15]],
                                        title="事项平均星级", unit=" 星"),
        "satisfaction_departments": bar_chart([(r["department"], r["average_stars"]) for r in by_department[:15]],
                                              title="部门平均星级", unit=" 星"),
        "demands": line_chart(demands["days"], demand_lines, title="每日诉求工单（按类别）")
        if demand_lines else bar_chart([], title="每日诉求工单（按类别）"),
        "demand_totals": bar_chart([(c["category"], c["count"]) for c in demands["categories"][:15]],
                                   title="诉求类别（件）"),
        "pushes": line_chart(pushes["days"], {"政策推送": pushes["pushes"]}, title="每日政策推送（次）"),
    }
    return render(request, "analytics/dashboard.html", period=period, error=None, charts=charts, queries=queries,
                  top=top, no_result=no_result, intents=intents, feedback=feedback, by_item=by_item,
                  by_department=by_department, demands=demands, pushes=pushes, sections=SECTION_NAMES,
                  percent=_percent, entered={"from": period.first.isoformat(), "to": period.last.isoformat()},
                  range_query=f"from={period.first.isoformat()}&to={period.last.isoformat()}")


@bp.get("/analytics.csv")
async def export(request: Request) -> HTTPResponse:
    await staff_member(request, "analytics.view")
    section = request.args.get("section", "")[:40]
    if section not in SECTION_NAMES:
        raise ApiError(400, "unknown_section", "没有这个统计项：section 应为 " + "、".join(SECTION_NAMES))
    period = _period(request)
    header, rows = await analytics(request).table(section, period)
    name = f"{section}_{period.first:%Y%m%d}-{period.last:%Y%m%d}.csv"
    return raw(to_csv(header, rows), content_type="text/csv; charset=utf-8",
               headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"})


