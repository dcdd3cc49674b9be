"""Usage analytics for the staff dashboard (数据分析): one method per figure, each over a range of
China dates — queries per day, top queries, no-result rates, the intent mix, answer feedback,
satisfaction (好差评) by item and by department, 12345 demand categories over time, and policy
pushes and WeChat sends — and each figure as a table for CSV export.

It lives in ``assistant/`` because most figures are the assistant's own records (searches, chat
turns, demands); the others are read from their owners' tables, never written. Nothing personal
leaves here: texts are stored masked, and no user id, openid, session key or credit code is ever
selected. Days are grouped in SQL (China time is UTC+8 all year), so a month of traffic is not
fetched row by row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from china_time import day_bounds
from domain_errors import DomainError
from logs import mask_personal_data
from store.database import Database
from store.tables.catalog import service_items
from store.tables.dialogue import chat_turns, demand_tickets
from store.tables.evaluations import evaluations
from store.tables.policy_graph import policy_pushes
from store.tables.search import search_queries
from store.tables.wechat import wechat_sends

DEFAULT_DAYS = 30
MAX_DAYS = 366
EARLIEST = date(2020, 1, 1)  # nothing of ours is older; far dates would overflow on conversion
BAD_STARS = 2  # as smartform.evaluations: 1–2 stars is a bad rating
TOP = 20
INTENT_NAMES = {"consult": "办事咨询", "policy": "政策咨询", "progress": "办件进度", "demand": "诉求反映",
                "human": "转人工", "greeting": "问候", "out_of_scope": "超出范围"}
SEND_KINDS = {"custom": "客服消息", "template": "模板消息", "subscribe": "订阅消息"}


class AnalyticsError(DomainError):
    """A period or section the statistics cannot be given for."""


@dataclass(frozen=True)
class DateRange:
    """China dates, both ends included."""

    first: date
    last: date

    @classmethod
    def parse(cls, first: str | None, last: str | None, today: date) -> DateRange:
        """From the page's ``from`` and ``to`` (YYYY-MM-DD, either may be empty): by default the
        last 30 days up to today. A bad range raises ``AnalyticsError`` saying what is wrong."""
        try:
            end = date.fromisoformat(last.strip()) if last and last.strip() else today
            start = date.fromisoformat(first.strip()) if first and first.strip() else end - timedelta(DEFAULT_DAYS - 1)
        except ValueError:
            raise AnalyticsError("bad_date", "日期格式应为 YYYY-MM-DD，例如 2026-05-01") from None
        if start > end:
            raise AnalyticsError("bad_range", "开始日期不能晚于结束日期")
        if start < EARLIEST or end > today:
            raise AnalyticsError("out_of_range", f"日期须在 {EARLIEST.isoformat()} 至今天（{today.isoformat()}）之间")
        if (end - start).days + 1 > MAX_DAYS:
            raise AnalyticsError("range_too_long", f"一次最多统计 {MAX_DAYS} 天")
        return cls(start, end)

    @property
    def since(self) -> datetime:
        return day_bounds(self.first, self.last)[0]

    @property
    def until(self) -> datetime:
        return day_bounds(self.first, self.last)[1]

    def days(self) -> list[str]:
        return [(self.first + timedelta(days=n)).isoformat() for n in range((self.last - self.first).days + 1)]

    def within(self, column: Any) -> ColumnElement[bool]:
        return sa.and_(column >= self.since, column < self.until)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


class Analytics:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _day(self, column: Any) -> ColumnElement[str]:
        """The China date of a stored UTC time, as YYYY-MM-DD text, on either database. Literals,
        not bound parameters: PostgreSQL must see the GROUP BY expression as the selected one."""
        if self.db.is_sqlite:  # stored as 'YYYY-MM-DD HH:MM:SS.ffffff' UTC text
            return sa.func.date(column, sa.literal_column("'+8 hours'"))
        shifted = sa.func.timezone(sa.literal_column("'UTC'"), column) + sa.literal_column("interval '8 hours'")
        return sa.func.to_char(shifted, sa.literal_column("'YYYY-MM-DD'"))

    async def _per_day(self, column: Any, period: DateRange, *conditions: ColumnElement[bool]) -> list[int]:
        day = self._day(column).label("day")
        async with self.db.read() as conn:
            rows = await conn.execute(sa.select(day, sa.func.count()).where(period.within(column), *conditions)
                                      .group_by(day))
            counts = {str(d): int(n) for d, n in rows}
        return [counts.get(d, 0) for d in period.days()]

    # --- the figures --------------------------------------------------------------------------
    async def queries_per_day(self, period: DateRange) -> dict[str, Any]:
        """Searches and chat turns per China day, every day of the range (a quiet day is 0)."""
        return {"days": period.days(),
                "search": await self._per_day(search_queries.c.at, period),
                "chat": await self._per_day(chat_turns.c.at, period)}

    async def top_queries(self, period: DateRange, limit: int = TOP) -> list[dict[str, Any]]:
        """The most frequent searches (by their normalised text; stored masked), with how many of
        them found nothing."""
        no_result = sa.func.sum(sa.case((search_queries.c.result_count == 0, 1), else_=0))
        count = sa.func.count().label("n")
        async with self.db.read() as conn:
            rows = await conn.execute(
                sa.select(search_queries.c.normalized, count, no_result.label("no_result"))
                .where(period.within(search_queries.c.at), search_queries.c.normalized != "")
                .group_by(search_queries.c.normalized)
                .order_by(count.desc(), search_queries.c.normalized).limit(min(max(limit, 1), 100)))
            # masked again on the way out (page and CSV): searches stored before masking knew a
            # format ("138-0000-6336", full-width digits) are not
            return [{"query": mask_personal_data(r.normalized), "count": int(r.n), "no_result": int(r.no_result or 0)}
                    for r in rows]

    async def no_result_rate(self, period: DateRange) -> dict[str, Any]:
        """Searches that found nothing, that found nothing good enough, and chat turns the
        assistant could not answer."""
        async with self.db.read() as conn:
            search = (await conn.execute(sa.select(
                sa.func.count(),
                sa.func.sum(sa.case((search_queries.c.result_count == 0, 1), else_=0)),
                sa.func.sum(sa.case((search_queries.c.no_good_match.is_(True), 1), else_=0)),
            ).where(period.within(search_queries.c.at)))).one()
            chat = (await conn.execute(sa.select(
                sa.func.count(), sa.func.sum(sa.case((chat_turns.c.no_answer.is_(True), 1), else_=0)),
            ).where(period.within(chat_turns.c.at)))).one()
        searches, none, weak = int(search[0]), int(search[1] or 0), int(search[2] or 0)
        turns, unanswered = int(chat[0]), int(chat[1] or 0)
        return {"searches": searches, "no_result": none, "no_result_rate": _rate(none, searches),
                "no_good_match": weak, "no_good_match_rate": _rate(weak, searches),
                "turns": turns, "no_answer": unanswered, "no_answer_rate": _rate(unanswered, turns)}

    async def intent_mix(self, period: DateRange) -> list[dict[str, Any]]:
        """What people asked the assistant for, most frequent first."""
        count = sa.func.count().label("n")
        async with self.db.read() as conn:
            rows = list(await conn.execute(sa.select(chat_turns.c.intent, count).where(period.within(chat_turns.c.at))
                                           .group_by(chat_turns.c.intent).order_by(count.desc(), chat_turns.c.intent)))
        total = sum(int(r.n) for r in rows)
        return [{"intent": r.intent, "name": INTENT_NAMES.get(r.intent, r.intent), "count": int(r.n),
                 "share": _rate(int(r.n), total)} for r in rows]

    async def answer_feedback(self, period: DateRange) -> dict[str, Any]:
        """Of the assistant's answers in the range, how many users rated, and how many helpful."""
        async with self.db.read() as conn:
            row = (await conn.execute(sa.select(
                sa.func.count(),
                sa.func.sum(sa.case((chat_turns.c.helpful.is_(True), 1), else_=0)),
                sa.func.sum(sa.case((chat_turns.c.helpful.is_(False), 1), else_=0)),
            ).where(period.within(chat_turns.c.at)))).one()
        turns, helpful, unhelpful = int(row[0]), int(row[1] or 0), int(row[2] or 0)
        rated = helpful + unhelpful
        return {"turns": turns, "rated": rated, "helpful": helpful, "not_helpful": unhelpful,
                "helpful_rate": _rate(helpful, rated), "not_helpful_rate": _rate(unhelpful, rated)}

    async def _satisfaction(self, period: DateRange, key: Any) -> list[Any]:
        count = sa.func.count().label("n")
        async with self.db.read() as conn:
            return list(await conn.execute(
                sa.select(key.label("key"), count, sa.func.avg(evaluations.c.stars).label("average"),
                          sa.func.sum(sa.case((evaluations.c.stars <= BAD_STARS, 1), else_=0)).label("bad"))
                .where(period.within(evaluations.c.created_at), evaluations.c.target_type == "application",
                       key.is_not(None))
                .group_by(key).order_by(count.desc(), key).limit(200)))

    async def satisfaction_by_item(self, period: DateRange) -> list[dict[str, Any]]:
        """Ratings of applications (好差评) per service item: count, average stars, bad-rating share."""
        rows = await self._satisfaction(period, evaluations.c.item_code)
        async with self.db.read() as conn:
            names = dict((await conn.execute(sa.select(service_items.c.code, service_items.c.name).where(
                service_items.c.code.in_([r.key for r in rows])))).tuples().all()) if rows else {}
        return [{"item_code": r.key, "item_name": names.get(r.key, r.key), "count": int(r.n),
                 "average_stars": round(float(r.average), 2), "bad_share": _rate(int(r.bad or 0), int(r.n))}
                for r in rows]

    async def satisfaction_by_department(self, period: DateRange) -> list[dict[str, Any]]:
        rows = await self._satisfaction(period, evaluations.c.department)
        return [{"department": r.key, "count": int(r.n), "average_stars": round(float(r.average), 2),
                 "bad_share": _rate(int(r.bad or 0), int(r.n))} for r in rows]

    async def demand_categories(self, period: DateRange) -> dict[str, Any]:
        """12345 tickets per category: the total, and per China day."""
        day = self._day(demand_tickets.c.created_at).label("day")
        async with self.db.read() as conn:
            rows = list(await conn.execute(
                sa.select(demand_tickets.c.category, day, sa.func.count().label("n"))
                .where(period.within(demand_tickets.c.created_at)).group_by(demand_tickets.c.category, day)))
        days = period.days()
        index = {d: n for n, d in enumerate(days)}
        categories: dict[str, list[int]] = {}
        for row in rows:
            per_day = categories.setdefault(row.category, [0] * len(days))
            if str(row.day) in index:
                per_day[index[str(row.day)]] += int(row.n)
        ordered = sorted(categories.items(), key=lambda kv: (-sum(kv[1]), kv[0]))
        return {"days": days, "total": sum(sum(v) for v in categories.values()),
                "categories": [{"category": c, "count": sum(v), "per_day": v} for c, v in ordered]}

    async def pushes(self, period: DateRange) -> dict[str, Any]:
        """Policy pushes (精准推送, kind ``push``) per day, and WeChat messages the outbox delivered
        or had refused, by kind."""
        per_day = await self._per_day(policy_pushes.c.created_at, period, policy_pushes.c.kind == "push")
        async with self.db.read() as conn:
            rows = list(await conn.execute(
                sa.select(wechat_sends.c.kind, wechat_sends.c.outcome, sa.func.count().label("n"))
                .where(period.within(wechat_sends.c.at)).group_by(wechat_sends.c.kind, wechat_sends.c.outcome)))
        sends: dict[str, dict[str, Any]] = {kind: {"kind": kind, "name": name, "sent": 0, "refused": 0}
                                            for kind, name in SEND_KINDS.items()}
        for row in rows:
            entry = sends.setdefault(row.kind, {"kind": row.kind, "name": row.kind, "sent": 0, "refused": 0})
            if row.outcome in ("sent", "refused"):
                entry[row.outcome] += int(row.n)
        return {"days": period.days(), "pushes": per_day, "push_total": sum(per_day), "sends": list(sends.values())}

    # --- tables, for the page and the CSV export ------------------------------------------------
    async def table(self, section: str, period: DateRange) -> tuple[list[str], list[list[Any]]]:
        """A section's figure as a header and rows (what the CSV export holds)."""
        if section == "queries":
            f = await self.queries_per_day(period)
            return ["日期", "搜索次数", "对话轮次"], [list(r) for r in zip(f["days"], f["search"], f["chat"], strict=True)]
        if section == "top_queries":
            return ["搜索词", "次数", "无结果次数"], [[r["query"], r["count"], r["no_result"]]
                                                  for r in await self.top_queries(period)]
        if section == "no_result":
            f = await self.no_result_rate(period)
            return ["指标", "数量", "总数", "比例"], [
                ["搜索无结果", f["no_result"], f["searches"], f["no_result_rate"]],
                ["搜索无可靠结果", f["no_good_match"], f["searches"], f["no_good_match_rate"]],
                ["对话未能回答", f["no_answer"], f["turns"], f["no_answer_rate"]]]
        if section == "intents":
            return ["意图", "名称", "次数", "占比"], [[r["intent"], r["name"], r["count"], r["share"]]
                                                 for r in await self.intent_mix(period)]
        if section == "feedback":
            f = await self.answer_feedback(period)
            return ["指标", "数量", "比例"], [["有帮助", f["helpful"], f["helpful_rate"]],
                                          ["没有帮助", f["not_helpful"], f["not_helpful_rate"]],
                                          ["已评价回答", f["rated"], None], ["全部回答", f["turns"], None]]
        if section == "satisfaction_items":
            return ["事项编码", "事项名称", "评价数", "平均星级", "差评占比"], [
                [r["item_code"], r["item_name"], r["count"], r["average_stars"], r["bad_share"]]
                for r in await self.satisfaction_by_item(period)]
        if section == "satisfaction_departments":
            return ["部门", "评价数", "平均星级", "差评占比"], [
                [r["department"], r["count"], r["average_stars"], r["bad_share"]]
                for r in await self.satisfaction_by_department(period)]
        if section == "demands":
            f = await self.demand_categories(period)
            return ["日期", "类别", "工单数"], [[day, c["category"], n] for c in f["categories"]
                                           for day, n in zip(f["days"], c["per_day"], strict=True) if n]
        if section == "pushes":
            f = await self.pushes(period)
            rows: list[list[Any]] = [[day, "政策推送", n] for day, n in zip(f["days"], f["pushes"], strict=True) if n]
            for send in f["sends"]:
                rows += [["合计", f"{send['name']}（已送达）", send["sent"]], ["合计", f"{send['name']}（被拒绝）", send["refused"]]]
            return ["日期", "类型", "数量"], rows
        raise AnalyticsError("unknown_section", "没有这个统计项")


SECTIONS: Sequence[tuple[str, str]] = (
    ("queries", "每日搜索与对话"), ("top_queries", "热门搜索词"), ("no_result", "无结果率"), ("intents", "意图分布"),
    ("feedback", "回答反馈"), ("satisfaction_items", "事项满意度"), ("satisfaction_departments", "部门满意度"),
    ("demands", "诉求类别"), ("pushes", "政策推送与消息发送"))
