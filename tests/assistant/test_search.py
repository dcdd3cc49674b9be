"""Smart search over our demo catalog with the real bundled model: how people really ask,
honesty when nothing fits, filters and facets, bad input, and incremental updates."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import pytest_asyncio

from assistant.catalog import CatalogService
from assistant.search import SearchError, SearchFilters
from assistant.search_eval import evaluate, load_queries
from server import build_search, prepare_database
from store.audit import AuditLog

DEMO_QUERIES = "benchmarks/queries/demo_queries.jsonl"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def service(tmp_path_factory, embedding_cache_file):
    from settings import Settings

    settings = Settings(data_dir=tmp_path_factory.mktemp("search"), embedding_cache_file=embedding_cache_file)
    db = await prepare_database(settings)
    executor = ThreadPoolExecutor(max_workers=2)
    search = build_search(settings, CatalogService(db, AuditLog(db)), executor)
    await search.start()
    await search.wait_for_vectors()
    yield search
    await search.stop()
    executor.shutdown()
    await db.dispose()


pytestmark = pytest.mark.asyncio(loop_scope="module")


async def top(service, query: str, **filters) -> list[str]:
    result = await service.search(query, SearchFilters(**filters), channel=None)
    return [hit.code for hit in result.results]


@pytest.mark.parametrize("query, expected", [
    ("公积金怎么取出来", "CD-0021"),       # colloquial
    ("公积斤提取", "CD-0021"),             # homophone typo
    ("gjj tiqu", "CD-0021"),               # initials + pinyin
    ("jiashizheng huanzheng", "CD-0009"),  # pinyin
    ("教资", "CD-0042"),                    # abbreviation through the synonym table
    ("结昏登记", "CD-0027"),               # homophone typo
    ("我的身份证在地铁上丢了怎么办", "CD-0003"),  # a situation
    ("ＩＤ　ｃａｒｄ丢了 补办身份证", "CD-0003"),  # full-width and mixed English
])
async def test_people_find_the_item_however_they_ask(service, query, expected):
    assert (await top(service, query))[0] == expected


async def test_a_confident_match_is_not_flagged(service):
    result = await service.search("住房公积金提取需要什么材料", channel=None)
    assert result.results[0].code == "CD-0021" and not result.no_good_match and result.confidence >= 0.5
    assert set(result.results[0].matched_by) == {"lexical", "vector", "fuzzy"}


@pytest.mark.parametrize("query", ["今天成都天气怎么样", "给我讲个笑话", "明天买哪只股票能涨"])
async def test_nothing_close_enough_says_no_good_match(service, query):
    assert (await service.search(query, channel=None)).no_good_match


async def test_filters_restrict_results_and_facets_count_the_candidates(service):
    result = await service.search("登记", SearchFilters(audience="法人"), channel=None)
    assert result.results and all("法人" in service.items[h.code].audience for h in result.results)
    assert result.facets["audience"]["个人"] > 0  # facets describe the query, not the filter
    department = service.items["CD-0027"].department
    only = await top(service, "登记", department=department)
    assert only and all(service.items[c].department == department for c in only)


async def test_unknown_filter_values_list_the_allowed_ones(service):
    with pytest.raises(SearchError) as caught:
        await service.search("登记", SearchFilters(audience="外星人"), channel=None)
    assert caught.value.code == "invalid_filter" and caught.value.details["allowed"] == ["个人", "法人"]


@pytest.mark.parametrize("query", ["", "   ", "\u3000"])
async def test_an_empty_query_gets_a_helpful_error(service, query):
    with pytest.raises(SearchError, match="请输入"):
        await service.search(query, channel=None)


async def test_odd_input_is_treated_as_text(service):
    long = await service.search("我想办理住房公积金提取" + "呀" * 500, channel=None)
    assert long.truncated and long.results[0].code == "CD-0021"
    assert (await service.search("🙂🙂 身份证补办 🙂", channel=None)).results[0].code == "CD-0003"
    hostile = await service.search("<script>alert(1)</script> 公积金'; DROP TABLE service_items; --", channel=None)
    assert hostile.results and all("<script>" not in hit.snippet for hit in hostile.results)
    assert await service.catalog.count_items() == 80


async def test_snippets_highlight_the_matched_words(service):
    result = await service.search("公积金提取", channel=None)
    assert "<em>" in result.results[0].snippet and "公积金" in result.results[0].snippet


async def test_fused_search_beats_every_single_method_on_our_development_set(service):
    from pathlib import Path

    report = await evaluate(service, load_queries(Path(__file__).resolve().parents[2] / DEMO_QUERIES))
    assert report["fused"]["recall@5"] >= 0.90 and report["fused"]["recall@1"] >= 0.70
    for method in ("lexical", "vector", "fuzzy"):
        assert report["fused"]["recall@1"] >= report[method]["recall@1"], method
        assert report["fused"]["mrr"] >= report[method]["mrr"], method


async def test_edits_additions_and_retirements_reach_every_index_without_a_rebuild(service):
    catalog = service.catalog
    record = await catalog.get_item("CD-0045")
    embedded_before = service.embedder.embedded_texts

    renamed = record.item.model_copy(update={"aliases": [*record.item.aliases, "宠物犬办证"]})
    await catalog.save_item(renamed, actor="staff:test")
    new = record.item.model_copy(update={"code": "CD-9001", "name": "犬只免疫证明办理", "aliases": ["狂犬疫苗证明"]})
    await catalog.save_item(new, actor="staff:test")
    assert await service.sync() == 2  # only the two changed items were re-indexed
    await service.wait_for_vectors()
    assert service.embedder.embedded_texts - embedded_before <= 4  # only their new texts were embedded

    assert (await top(service, "宠物犬办证"))[0] == "CD-0045"
    for method in ("lexical", "vector", "fuzzy"):
        assert "CD-9001" in (await service.search("犬只免疫证明", methods=[method], channel=None)).results[0].code

    await catalog.save_item(new.model_copy(update={"status": "retired"}), actor="staff:test")
    assert await service.sync() == 1
    assert "CD-9001" not in await top(service, "犬只免疫证明")
    assert "CD-9001" not in service.vectors


async def test_lexical_search_serves_while_vectors_build(tmp_path):
    import json

    from assistant.importers import import_catalog
    from miniapp_api.health import Readiness
    from settings import Settings

    lines = [{"TASK_CODE": f"T{n}", "TASK_NAME": name, "accept_standard": "符合条件的申请人" * 20}
             for n, name in enumerate(["养犬登记", "结婚登记", "护照办理"])]
    path = tmp_path / "items.jsonl"
    path.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines), encoding="utf-8")
    settings = Settings(data_dir=tmp_path, load_demo=False)  # an empty embedding cache
    db = await prepare_database(settings)
    catalog = CatalogService(db, AuditLog(db))
    await import_catalog(db, catalog, "gdzwfw", path)
    executor = ThreadPoolExecutor(max_workers=2)
    readiness = Readiness()
    search = build_search(settings, catalog, executor, readiness)
    try:
        await search.start()
        early = await search.search("养犬登记", channel=None)
        assert early.results[0].code == "T0"
        if not search.vector_ready:
            assert early.methods == ["lexical", "fuzzy"] and "vector_index" in readiness.building
        await search.wait_for_vectors()
        assert readiness.components["vector_index"] == {"ready": True, "items": 3, "vectors": 6}
        assert (await search.search("养犬登记", channel=None)).methods == ["lexical", "vector", "fuzzy"]
    finally:
        await search.stop()
        executor.shutdown()
        await db.dispose()
