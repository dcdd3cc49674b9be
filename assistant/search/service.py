"""``SearchService``: the one object the rest of the backend calls for smart search (智能搜索).

It puts the pieces together and keeps their public face in one place: the index
(``SearchIndex``: lifecycle, background vectors, incremental sync, readiness), the searcher
(``Searcher``: pure ranking over an index snapshot), the suggester and the query log. What it
does itself is the edge of a search: normalise and bound the query, check the filters, run the
searcher off the event loop, time it, and queue it for the log.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import Executor
from dataclasses import fields
from typing import Any

from assistant.catalog import CatalogService
from assistant.search.documents import IndexedItem
from assistant.search.index import Readiness, SearchIndex
from assistant.search.query_log import LoggedQuery, QueryLog
from assistant.search.results import METHODS, SearchError, SearchFilters, SearchResult
from assistant.search.searcher import Searcher
from assistant.search.snapshot import IndexSnapshot
from assistant.search.suggester import Suggester
from retrieval.embedding_cache import CachedEmbedder
from retrieval.fusion import DEFAULT_CALIBRATION, Calibration
from retrieval.lexical import BM25Index, Tokenizer, normalize_text
from retrieval.vector import VectorIndex
from store.tables.base import utcnow


class SearchService:
    def __init__(
        self,
        catalog: CatalogService,
        embedder: CachedEmbedder | None,
        executor: Executor,
        *,
        weights: dict[str, float] | None = None,
        rrf_k: float = 10.0,
        min_confidence: float = 0.5,
        max_query_chars: int = 200,
        calibration: Calibration = DEFAULT_CALIBRATION,
        readiness: Readiness | None = None,
        query_log: QueryLog | None = None,
    ) -> None:
        self.catalog = catalog
        self.embedder = embedder
        self.executor = executor
        self.max_query_chars = max_query_chars
        self.searcher = Searcher(embedder, weights=weights, rrf_k=rrf_k, min_confidence=min_confidence,
                                 calibration=calibration)
        self.query_log = query_log or QueryLog(catalog.db)
        self.suggester = Suggester(self.query_log.hot)
        self.index = SearchIndex(catalog, embedder, executor, readiness=readiness,
                                 on_change=lambda snapshot: self.suggester.use(snapshot.items.values()))

    # --- lifecycle (the index's) ------------------------------------------------------------
    async def start(self, *, sync_seconds: float | None = None) -> None:
        """Build the lexical and fuzzy indexes now, the vectors in the background."""
        await self.index.start(sync_seconds=sync_seconds)

    async def stop(self) -> None:
        await self.index.stop()
        await self.query_log.stop()

    async def sync(self) -> int:
        """Bring the indexes up to the catalog; returns how many items were (re)indexed or removed."""
        return await self.index.sync()

    async def wait_for_vectors(self) -> None:
        await self.index.wait_for_vectors()

    async def flush_logs(self) -> None:
        """Write the queued query log records now."""
        await self.query_log.flush()

    # --- what callers read of the current snapshot ----------------------------------------------
    @property
    def snapshot(self) -> IndexSnapshot:
        return self.index.snapshot

    @property
    def items(self) -> Mapping[str, IndexedItem]:
        return self.index.snapshot.items if self.index.started else {}

    @property
    def tokenizer(self) -> Tokenizer | None:
        return self.index.snapshot.tokenizer if self.index.started else None

    @property
    def lexical(self) -> BM25Index | None:
        return self.index.snapshot.lexical if self.index.started else None

    @property
    def vectors(self) -> VectorIndex | None:
        return self.index.snapshot.vectors if self.index.started else None

    @property
    def vector_ready(self) -> bool:
        return self.index.started and self.index.snapshot.vector_ready

    @property
    def available_methods(self) -> list[str]:
        return self.index.snapshot.methods if self.index.started else ["lexical", "fuzzy"]

    def allowed_values(self, facet: str) -> list[str]:
        return list(self.index.snapshot.allowed_values[facet])

    def check_filters(self, filters: SearchFilters, snapshot: IndexSnapshot | None = None) -> None:
        allowed_values = (snapshot or self.index.snapshot).allowed_values
        for f in fields(filters):
            value = getattr(filters, f.name)
            if value is not None and value not in allowed_values[f.name]:
                raise SearchError("invalid_filter", f"筛选条件 {f.name} 的取值“{value}”不存在",
                                  details={"field": f.name, "allowed": list(allowed_values[f.name])})

    def names_an_item(self, text: str) -> bool:
        """Whether the text contains a word that points to particular items."""
        return self.searcher.names_an_item(self.index.snapshot, text)

    def unknown_words(self, text: str) -> list[str]:
        """Content words of the text that no item contains at all ("考研", "签证")."""
        return self.searcher.unknown_words(self.index.snapshot, text)

    # --- searching -----------------------------------------------------------------------------
    async def search(
        self,
        query: str,
        filters: SearchFilters | None = None,
        top_k: int = 10,
        *,
        methods: Iterable[str] | None = None,
        channel: str | None = "api",
    ) -> SearchResult:
        """Search; ``methods`` restricts to some methods (for baselines), ``channel=None`` skips the log."""
        started = time.perf_counter()
        filters = filters or SearchFilters()
        text = normalize_text(query or "")
        if not text:
            raise SearchError("empty_query", "请输入要查询的事项或问题，例如“公积金提取”“身份证丢了怎么补办”")
        truncated = len(text) > self.max_query_chars
        text = text[:self.max_query_chars]
        snapshot = self.index.snapshot  # one snapshot for the whole search
        self.check_filters(filters, snapshot)
        available = snapshot.methods
        chosen = [m for m in (methods or METHODS) if m in available]
        result = await asyncio.get_running_loop().run_in_executor(
            self.executor, self.searcher.search, snapshot, text, filters, top_k, chosen)
        result.query, result.truncated = query, truncated
        result.took_ms = (time.perf_counter() - started) * 1000
        if channel is not None:
            self.query_log.record(LoggedQuery(
                at=utcnow(), channel=channel, query=query, normalized=text, result_count=len(result.results),
                top_code=result.results[0].code if result.results else None, confidence=result.confidence,
                no_good_match=result.no_good_match, took_ms=result.took_ms))
        return result

    # --- suggestions and the hot list ------------------------------------------------------------
    async def suggest(self, prefix: str, limit: int = 10) -> list[dict[str, str]]:
        """Completions for a search box: hot queries, then item names and aliases, by text or pinyin prefix."""
        return await self.suggester.suggest(prefix, limit)

    async def hot(self, limit: int = 10, days: int = 7) -> list[dict[str, Any]]:
        """The most frequent queries of the last ``days`` that found something (cached for 30 s)."""
        return await self.query_log.hot(limit, days)
