"""The dashboard's figures on both databases: known rows in, exact figures out — China days (a
UTC evening counts for the next China date), the edges of the range, an empty range, and the
date range's own checks."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from assistant.analytics import Analytics, AnalyticsError, DateRange
from store.tables.catalog import service_items
from store.tables.dialogue import chat_turns, demand_tickets
from store.tables.evaluations import evaluations
from store.tables.policy_graph import policy_pushes
from store.tables.search import search_queries
from store.tables.wechat import wechat_sends
from web.errors import status_of

MAY = DateRange(date(2026, 5, 1), date(2026, 5, 3))


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 5, day, hour, minute, tzinfo=UTC)


def search(when: datetime, text: str, results: int, weak: bool = False) -> dict:
    return dict(at=when, channel="miniapp", query=text, normalized=text, result_count=results, top_code=None,
                confidence=0.5, no_good_match=weak, took_ms=3.0)


def turn(when: datetime, intent: str, *, no_answer: bool = False, helpful: bool | None = None) -> dict:
    return dict(at=when, session_key="miniapp:secret-user", channel="miniapp", text="问", intent=intent, aspect=None,
                confidence=0.9, sources=[], reply="答", no_answer=no_answer, needs_clarification=False, kb_version=1,
                latency_ms=5.0, helpful=helpful)


def rating(n: int, when: datetime, stars: int, item: str | None, department: str | None,
           target_type: str = "application") -> dict:
    return dict(user_id=f"u{n}", target_type=target_type, target_id=f"T{n}", item_code=item, department=department,
                stars=stars, tags=[], comment=None, created_at=when)


def ticket(n: int, when: datetime, category: str) -> dict:
    return dict(number=f"12345260501{n:06d}", created_at=when, updated_at=when, session_key="miniapp:secret-user",
                channel="miniapp", category=category, category_confidence=0.8, district=None, summary="摘要",
                text="内容", contact_consent=False, status="received")


async def fill(db) -> None:  # type: ignore[no-untyped-def]
    async with db.transaction() as conn:
        await conn.execute(search_queries.insert(), [
            search(at(1, 2), "社保卡", 3), search(at(1, 3), "社保卡", 0, weak=True),
            search(at(1, 16, 30), "公积金", 2),  # 00:30 on 2 May in Chengdu
            search(at(2, 1), "社保卡", 1), search(at(3, 15, 59), "居住证", 0, weak=True),
            search(at(3, 16), "不算", 1),  # 00:00 on 4 May in Chengdu: outside the range
            search(at(1, 15, 59) .replace(day=30, month=4), "不算", 1)])  # 23:59 on 30 April
        await conn.execute(chat_turns.insert(), [
            turn(at(1, 1), "consult", helpful=True), turn(at(1, 2), "consult", no_answer=True, helpful=False),
            turn(at(2, 1), "demand", helpful=True), turn(at(3, 1), "progress")])
        await conn.execute(service_items.insert().values(
            code="CD-0053", name="个体工商户设立登记", department="成都市市场监督管理局", item_type="", for_person=True,
            for_legal_person=False, level="", district="", source="demo", status="active", version=1, content_hash="x",
            document={}, updated_at=at(1, 0)))
        await conn.execute(evaluations.insert(), [
            rating(1, at(1, 1), 5, "CD-0053", "成都市市场监督管理局"),
            rating(2, at(1, 2), 2, "CD-0053", "成都市市场监督管理局"),
            rating(3, at(2, 2), 4, "CD-0099", "成都市人社局"),
            rating(4, at(2, 3), 1, None, None, target_type="answer"),  # an answer: not a service item's rating
            rating(5, at(9, 3), 1, "CD-0053", "成都市市场监督管理局")])  # outside
        await conn.execute(demand_tickets.insert(), [
            ticket(1, at(1, 1), "城乡建设"), ticket(2, at(1, 20), "城乡建设"),  # 04:00 on 2 May in Chengdu
            ticket(3, at(3, 1), "劳动社保"), ticket(4, at(3, 2), "城乡建设")])
        await conn.execute(policy_pushes.insert(), [
            dict(uscc="91510100MA61234567", item_id="item:a", kind="push", created_at=at(1, 1), outcome="o"),
            dict(uscc="91510100MA61234568", item_id="item:a", kind="push", created_at=at(3, 1), outcome="o"),
            dict(uscc="91510100MA61234569", item_id="item:a", kind="prompt", created_at=at(3, 1), outcome="o")])
        await conn.execute(wechat_sends.insert(), [
            dict(at=at(1, 1), kind="subscribe", openid="o1", idempotency_key="k1", outcome="sent"),
            dict(at=at(1, 2), kind="subscribe", openid="o1", idempotency_key="k2", outcome="refused"),
            dict(at=at(2, 2), kind="custom", openid="o2", idempotency_key="k3", outcome="sent"),
            dict(at=at(2, 3), kind="custom", openid="o2", idempotency_key="k4", outcome="retry")])


async def test_every_figure_from_known_rows(db):
    await fill(db)
    analytics = Analytics(db)
    assert await analytics.queries_per_day(MAY) == {
        "days": ["2026-05-01", "2026-05-02", "2026-05-03"], "search": [2, 2, 1], "chat": [2, 1, 1]}
    assert await analytics.top_queries(MAY) == [
        {"query": "社保卡", "count": 3, "no_result": 1}, {"query": "公积金", "count": 1, "no_result": 0},
        {"query": "居住证", "count": 1, "no_result": 1}]
    assert await analytics.no_result_rate(MAY) == {
        "searches": 5, "no_result": 2, "no_result_rate": 0.4, "no_good_match": 2, "no_good_match_rate": 0.4,
        "turns": 4, "no_answer": 1, "no_answer_rate": 0.25}
    assert await analytics.intent_mix(MAY) == [
        {"intent": "consult", "name": "办事咨询", "count": 2, "share": 0.5},
        {"intent": "demand", "name": "诉求反映", "count": 1, "share": 0.25},
        {"intent": "progress", "name": "办件进度", "count": 1, "share": 0.25}]
    assert await analytics.answer_feedback(MAY) == {
        "turns": 4, "rated": 3, "helpful": 2, "not_helpful": 1, "helpful_rate": 0.6667, "not_helpful_rate": 0.3333}
    assert await analytics.satisfaction_by_item(MAY) == [
        {"item_code": "CD-0053", "item_name": "个体工商户设立登记", "count": 2, "average_stars": 3.5, "bad_share": 0.5},
        {"item_code": "CD-0099", "item_name": "CD-0099", "count": 1, "average_stars": 4.0, "bad_share": 0.0}]
    assert await analytics.satisfaction_by_department(MAY) == [
        {"department": "成都市市场监督管理局", "count": 2, "average_stars": 3.5, "bad_share": 0.5},
        {"department": "成都市人社局", "count": 1, "average_stars": 4.0, "bad_share": 0.0}]
    assert await analytics.demand_categories(MAY) == {
        "days": ["2026-05-01", "2026-05-02", "2026-05-03"], "total": 4,
        "categories": [{"category": "城乡建设", "count": 3, "per_day": [1, 1, 1]},
                       {"category": "劳动社保", "count": 1, "per_day": [0, 0, 1]}]}
    pushes = await analytics.pushes(MAY)
    assert pushes["pushes"] == [1, 0, 1] and pushes["push_total"] == 2
    assert {s["kind"]: (s["sent"], s["refused"]) for s in pushes["sends"]} == {
        "custom": (1, 0), "template": (0, 0), "subscribe": (1, 1)}
    header, rows = await analytics.table("demands", MAY)
    assert header == ["日期", "类别", "工单数"] and rows == [
        ["2026-05-01", "城乡建设", 1], ["2026-05-02", "城乡建设", 1], ["2026-05-03", "城乡建设", 1],
        ["2026-05-03", "劳动社保", 1]]
    for section in ("queries", "top_queries", "no_result", "intents", "feedback", "satisfaction_items",
                    "satisfaction_departments", "pushes"):
        _, rows = await analytics.table(section, MAY)
        assert "secret-user" not in str(rows) and "o1" not in str(rows) and "91510100" not in str(rows)


async def test_an_empty_range_is_zeros_and_nones(db):
    await fill(db)
    analytics = Analytics(db)
    june = DateRange(date(2026, 6, 1), date(2026, 6, 2))
    assert await analytics.queries_per_day(june) == {"days": ["2026-06-01", "2026-06-02"], "search": [0, 0],
                                                     "chat": [0, 0]}
    assert await analytics.top_queries(june) == [] and await analytics.intent_mix(june) == []
    assert (await analytics.no_result_rate(june))["no_result_rate"] is None
    assert await analytics.answer_feedback(june) == {"turns": 0, "rated": 0, "helpful": 0, "not_helpful": 0,
                                                     "helpful_rate": None, "not_helpful_rate": None}
    assert await analytics.satisfaction_by_item(june) == [] and await analytics.satisfaction_by_department(june) == []
    assert (await analytics.demand_categories(june))["categories"] == []
    assert (await analytics.pushes(june))["push_total"] == 0


def test_the_date_range_defaults_to_the_last_30_days_and_refuses_bad_ones():
    today = date(2026, 5, 20)
    default = DateRange.parse(None, "", today)
    assert (default.first, default.last) == (date(2026, 4, 21), today) and len(default.days()) == 30
    assert DateRange.parse("2026-05-01", "2026-05-01", today).since == datetime(2026, 4, 30, 16, tzinfo=UTC)
    for first, last, code in (("2026-5-1x", "", "bad_date"), ("2026-05-10", "2026-05-01", "bad_range"),
                              ("2026-05-01", "2026-05-21", "out_of_range"), ("0001-01-01", "", "out_of_range"),
                              ("2024-01-01", "2026-05-01", "range_too_long")):
        with pytest.raises(AnalyticsError) as refused:
            DateRange.parse(first, last, today)
        assert refused.value.code == code and status_of(refused.value.code) == 400
